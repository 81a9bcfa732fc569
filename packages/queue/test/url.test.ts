import { describe, expect, it } from 'vitest';
import { parseQueueUrl } from '../src/url.js';

describe('parseQueueUrl', () => {
  it('reads host, port, database, user, password and queue name; shows the URL without the password', () => {
    const loc = parseQueueUrl('redis://alice:s%40cret@10.0.0.5:6380/2?queue=attribution');
    expect(loc.connection).toMatchObject({
      host: '10.0.0.5',
      port: 6380,
      db: 2,
      username: 'alice',
      password: 's@cret',
      maxRetriesPerRequest: null,
    });
    expect(loc.connection.tls).toBeUndefined();
    expect(loc.queueName).toBe('attribution');
    expect(loc.display).toBe('redis://10.0.0.5:6380/2?queue=attribution');
    expect(loc.redact('auth s@cret and s%40cret failed')).toBe('auth *** and *** failed');
  });

  it('defaults: port 6379, database 0, queue tarm; rediss:// asks ioredis for TLS', () => {
    expect(parseQueueUrl('redis://redis.lab')).toMatchObject({
      queueName: 'tarm',
      display: 'redis://redis.lab/0',
      connection: { host: 'redis.lab', port: 6379, db: 0 },
    });
    const tls = parseQueueUrl('rediss://:pw@redis.lab:6390');
    expect(tls.connection.tls).toEqual({ servername: 'redis.lab' });
    expect(tls.display).toBe('rediss://redis.lab:6390/0');
    expect(parseQueueUrl('rediss://10.0.0.1').connection.tls).toEqual({}); // no SNI for an address
  });

  it.each([
    ['http://:secret@host', /unknown scheme "http:"; allowed: "redis:", "rediss:"/],
    ['redis://:secret@host/x', /database .* non-negative integer, got "x"/],
    ['redis://:secret@host?color=1', /unknown URL parameter "color"; allowed: queue/],
    ['redis://:secret@host?queue=a:b', /queue= must be 1-64 letters/],
    ['redis//:secret@host', /not a URL/],
  ])('%s: a clear error that does not repeat the password', (url, message) => {
    expect(() => parseQueueUrl(url)).toThrow(message);
    try {
      parseQueueUrl(url);
    } catch (e) {
      expect((e as Error).message).not.toContain('secret');
    }
  });
});
