import { describe, expect, it } from 'vitest';
import { BlockingQuery, TokenBucket, type BlockingQueryError, type BlockingRead, type BlockingResponse } from '../../src/index.js';

// The loop's rules, against a scripted platform: what each read asked for, and what the
// loop reported. Adapter tests check the same rules against the Consul and Nomad simulators.

class Failure extends Error implements BlockingQueryError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

interface Script {
  /** Answers read number n (0-based); a thrown error is a failed read; undefined hangs until aborted. */
  (read: BlockingRead, n: number): BlockingResponse | Error | undefined;
}

function run(script: Script) {
  const reads: BlockingRead[] = [];
  const seen = { values: [] as string[], reads: 0, errors: [] as number[], resets: [] as [number, number][], bad: [] as (number | undefined)[], recovered: 0 };
  const fast = { burst: 1000, perSecond: 1000 };
  const q = new BlockingQuery<string, BlockingResponse, Failure>({
    read: (r) => {
      const n = reads.push(r) - 1;
      const answer = script(r, n);
      if (answer === undefined) return new Promise((_, reject) => r.signal.addEventListener('abort', () => reject(new Failure('aborted'))));
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
    decode: (res) => res.body,
    toError: (err) => (err instanceof Failure ? err : new Failure(String(err))),
    tuning: { waitMs: 1000, timeoutMarginMs: 100, requestTimeoutMs: 500, backoffBaseMs: 1, backoffMaxMs: 2 },
    bucket: new TokenBucket(fast),
    events: {
      onRead: () => seen.reads++,
      onValue: (v) => seen.values.push(v),
      onError: (_e, n) => seen.errors.push(n),
      onRecovered: () => seen.recovered++,
      onIndexReset: (from, to) => seen.resets.push([from, to]),
      onBadIndex: (raw) => seen.bad.push(raw),
    },
  });
  q.start();
  return { q, reads, seen };
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe('BlockingQuery', () => {
  it('reads once without an index, then blocks on the last index with wait + wait/16 + margin as timeout', async () => {
    const { q, reads, seen } = run((r, n) => (n === 0 ? { index: 5, body: 'a' } : n === 1 ? { index: 6, body: 'b' } : undefined));
    await until(() => reads.length === 3);
    expect(reads.map((r) => [r.index, r.timeoutMs])).toEqual([
      [0, 500],
      [5, 1162.5],
      [6, 1162.5],
    ]);
    expect(seen.values).toEqual(['a', 'b']);
    await q.stop();
  });

  it('reports neither an unchanged index nor a new index with the same body, but reads them all', async () => {
    const answers = [{ index: 5, body: 'a' }, { index: 5, body: 'a' }, { index: 7, body: 'a' }, { index: 8, body: 'b' }];
    const { q, reads, seen } = run((_r, n) => answers[n]);
    await until(() => reads.length === 5);
    expect(seen.values).toEqual(['a', 'b']);
    expect(seen.reads).toBe(4);
    await q.stop();
  });

  it('starts over from 0 when the index goes backwards, and reads an index below 1 as 1', async () => {
    const answers = [{ index: 50, body: 'a' }, { index: 7, body: 'a' }, { index: 7, body: 'a' }, { index: 0, body: 'b' }];
    const { q, reads, seen } = run((_r, n) => answers[n]);
    await until(() => reads.length === 5);
    // 0 is read as 1, which is below 7: that is a reset too.
    expect(seen.resets).toEqual([
      [50, 7],
      [7, 1],
    ]);
    expect(reads.map((r) => r.index)).toEqual([0, 50, 0, 7, 0]);
    expect(seen.bad).toEqual([0]);
    await q.stop();
  });

  it('backs off on errors, counting them, reads without blocking after a failure, and reports recovery', async () => {
    const { q, reads, seen } = run((_r, n) => (n === 0 ? { index: 5, body: 'a' } : n <= 3 ? new Failure('boom', 500) : n === 4 ? { index: 5, body: 'a' } : undefined));
    await until(() => seen.recovered === 1 && reads.length === 6);
    expect(seen.errors).toEqual([1, 2, 3]);
    // The reads after a failure do not block (a platform that is back is noticed at once).
    expect(reads.map((r) => r.index)).toEqual([0, 5, 0, 0, 0, 5]);
    expect(seen.values).toEqual(['a']);
    await q.stop();
  });

  it('kick() cuts a blocking read short and re-reads at once without an index; stop() aborts the read in flight', async () => {
    const { q, reads, seen } = run((r, n) => (n === 0 ? { index: 5, body: 'a' } : r.index === 0 ? { index: 5, body: 'a' } : undefined));
    await until(() => reads.length === 2);
    q.kick();
    await until(() => reads.length === 4);
    expect(reads.map((r) => r.index)).toEqual([0, 5, 0, 5]);
    expect(seen.errors).toEqual([]);
    expect(reads[1]!.signal.aborted).toBe(true);
    await q.stop();
    expect(reads[3]!.signal.aborted).toBe(true);
  });
});
