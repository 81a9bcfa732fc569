import type { Redis } from 'ioredis';
import { QueueError } from './errors.js';

// Deletes / extends the key only while it still holds our token (Redis's documented single-instance lock).
const RELEASE = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EXTEND = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`;

/**
 * A lock across hosts on one Redis key: `SET key token NX PX ttl`, renewed every third of `ttlMs` while held, so
 * a driver that dies (or a machine that disappears) frees it within `ttlMs`. Taken by `tarm study --queue` for its
 * queue, in place of the study folder's pid lock (which only means something on one machine). Throws a QueueError
 * naming the holder when another process holds it.
 */
export async function takeLock(
  client: Redis,
  key: string,
  holder: string,
  ttlMs = 30_000,
): Promise<{ release(): Promise<void> }> {
  const token = `${holder} since ${new Date().toISOString()}`;
  const ok = await client.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') {
    const by = await client.get(key);
    throw new QueueError(
      `this queue is being driven by ${by ?? 'another process'} (Redis key ${key}); follow it with \`tarm study status\`, or wait for it to end`,
      'queue',
    );
  }
  const renew = setInterval(
    () => void client.eval(EXTEND, 1, key, token, String(ttlMs)).catch(() => {}),
    Math.max(100, Math.floor(ttlMs / 3)),
  );
  renew.unref();
  return {
    async release() {
      clearInterval(renew);
      await client.eval(RELEASE, 1, key, token).catch(() => {});
    },
  };
}
