import { isIP } from 'node:net';
import type { RedisOptions } from 'ioredis';
import { QueueError } from './errors.js';

/** Where a study's queue lives, parsed from `--queue URL`. */
export interface QueueLocation {
  /** ioredis options: host, port, user, password, db, `tls` for rediss://. */
  readonly connection: Readonly<RedisOptions>;
  /** The BullMQ queue: `?queue=NAME` of the URL, default `tarm`. */
  readonly queueName: string;
  /** The URL as it may be shown and written: `redis://host:port/db?queue=name`, never the password. */
  readonly display: string;
  /** Replaces the password (as typed and URL-decoded) in any text with `***`. */
  redact(text: string): string;
}

export const DEFAULT_QUEUE_NAME = 'tarm';
const QUEUE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Parses `redis://[[user]:password@]host[:port][/db][?queue=NAME]` (`rediss://` for TLS: ioredis gets
 * `tls: { servername: host }` (`{}` for an IP address), and checks the server's certificate against Node's CAs, NODE_EXTRA_CA_CERTS included). Errors name the part
 * at fault and never repeat the password.
 */
export function parseQueueUrl(raw: string): QueueLocation {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    // the URL itself may hold the password: show only its scheme
    throw new QueueError(
      `--queue: not a URL (${JSON.stringify(raw.split(':')[0])}...); expected redis://[:password@]host[:port][/db] or rediss://...`,
      'queue',
    );
  }
  const password = decodeURIComponent(u.password);
  const redact = (text: string) => {
    let out = text;
    for (const s of new Set([u.password, password].filter((x) => x.length > 0))) out = out.split(s).join('***');
    return out;
  };
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:')
    throw new QueueError(
      `--queue: unknown scheme ${JSON.stringify(u.protocol)}; allowed: "redis:", "rediss:" (TLS)`,
      'queue',
    );
  if (!u.hostname) throw new QueueError('--queue: the URL has no host; expected redis://host:port', 'queue');
  const port = u.port === '' ? 6379 : Number(u.port);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0)
    throw new QueueError(
      `--queue: the database (the URL's path) must be a non-negative integer, got ${JSON.stringify(redact(dbText))}`,
      'queue',
    );
  const unknown = [...u.searchParams.keys()].filter((k) => k !== 'queue');
  if (unknown.length)
    throw new QueueError(
      `--queue: unknown URL parameter ${JSON.stringify(redact(unknown[0]!))}; allowed: queue`,
      'queue',
    );
  const queueName = u.searchParams.get('queue') ?? DEFAULT_QUEUE_NAME;
  if (!QUEUE_NAME.test(queueName))
    throw new QueueError(
      `--queue: queue= must be 1-64 letters, digits, '_', '.' or '-', got ${JSON.stringify(redact(queueName))}`,
      'queue',
    );
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const connection: RedisOptions = {
    host,
    port,
    db,
    ...(u.username && { username: decodeURIComponent(u.username) }),
    ...(password && { password }),
    // TLS checks the certificate against Node's CAs (NODE_EXTRA_CA_CERTS adds one); SNI only for a host name
    ...(u.protocol === 'rediss:' && { tls: isIP(host) ? {} : { servername: host } }),
    // BullMQ's workers need commands that wait across a reconnection rather than fail
    maxRetriesPerRequest: null,
  };
  const display = `${u.protocol}//${u.host}/${db}${queueName === DEFAULT_QUEUE_NAME ? '' : `?queue=${queueName}`}`;
  return Object.freeze({ connection: Object.freeze(connection), queueName, display, redact });
}
