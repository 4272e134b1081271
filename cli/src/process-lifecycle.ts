import type { Logger } from '@isthmus/core';

/** Longest a graceful stop may take before the process exits anyway. */
export const STOP_DEADLINE_MS = 10_000;

/**
 * Runs `start`, then waits for SIGINT/SIGTERM and runs `stop`; exits 1 if start fails.
 * A stop that hangs (a peer that never closes its stream) is cut off after
 * STOP_DEADLINE_MS with an error log, so an orchestrator's restart never waits on us.
 */
export async function runUntilSignal(logger: Logger, start: () => Promise<void>, stop: () => Promise<void>): Promise<void> {
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error({ deadlineMs: STOP_DEADLINE_MS }, 'shutdown did not finish in time; exiting anyway');
      process.exit(1);
    }, STOP_DEADLINE_MS).unref();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  try {
    await start();
  } catch (err) {
    logger.error({ err: (err as Error).message }, 'failed to start');
    await stop().catch(() => undefined);
    process.exit(1);
  }
}
