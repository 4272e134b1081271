// The token bucket and backoff are shared by every platform adapter: they live in core.
export { TokenBucket, backoffDelay, sleep } from '@isthmus/core';
