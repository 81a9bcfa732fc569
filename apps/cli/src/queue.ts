import { UsageError } from './errors.js';

type QueueModule = typeof import('@tarm/queue');

/**
 * @tarm/queue (BullMQ, ioredis), loaded only by the commands that use a queue, so that a machine that runs studies
 * locally needs neither. A missing package is an error that says how to install it.
 */
export async function loadQueue(): Promise<QueueModule> {
  try {
    return await import('@tarm/queue');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes('@tarm/queue')) {
      throw new UsageError(
        '--queue needs the package @tarm/queue (BullMQ over Redis) beside @tarm/cli: npm install @tarm/queue (or npm install -g @tarm/queue for a global tarm)',
      );
    }
    throw e;
  }
}

/** `--queue URL`, else (`--queue` alone, or none) the TARM_QUEUE environment variable, which keeps a password out of the process list. */
export function queueUrl(flag: unknown): string | undefined {
  if (typeof flag === 'string' && flag.length > 0) return flag;
  const env = process.env.TARM_QUEUE;
  return env && env.length > 0 ? env : undefined;
}
