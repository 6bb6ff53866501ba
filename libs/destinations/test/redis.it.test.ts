import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { createRedisExecutor, destinations, type ConfiguredRedisDestination, type SegmentEvent } from '../src';
import { group, identify, manyTracks, track } from './fixtures';

/**
 * Real redis-server: REDIS_URL when given, else one started here on a free port
 * (`redis-server` must be on PATH; Debian package redis-server).
 */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(host: string, port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const sock = connect(port, host);
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis not reachable at ${host}:${port}`);
}

describe('redis destination → real redis-server', () => {
  let proc: ChildProcess | undefined;
  let dir: string | undefined;
  let client: Redis;
  let prefix: string;

  beforeAll(async () => {
    let url = process.env.REDIS_URL;
    if (!url) {
      const port = await freePort();
      dir = mkdtempSync(join(tmpdir(), 'sluice-redis-'));
      proc = spawn(
        process.env.REDIS_SERVER ?? 'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      url = `redis://127.0.0.1:${port}`;
    }
    const { hostname, port } = new URL(url);
    await waitForPort(hostname, Number(port || 6379));
    client = new Redis(url, { maxRetriesPerRequest: 1 });
    prefix = `sluice-test-${Date.now()}-${Math.random().toString(36).slice(2)}:`;
  }, 30_000);

  afterAll(async () => {
    client.disconnect();
    if (proc) {
      proc.kill('SIGTERM');
      await new Promise((r) => proc!.once('exit', r));
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function dest(over: Record<string, unknown> = {}): ConfiguredRedisDestination {
    const r = destinations.redis!.configure({ keyPrefix: prefix, recentEvents: 5, ...over });
    if (!r.ok || r.destination.transport !== 'redis') throw new Error('configure failed');
    return r.destination;
  }
  async function sendAll(d: ConfiguredRedisDestination, events: SegmentEvent[]) {
    const executor = createRedisExecutor(client);
    const out = [];
    for (const delivery of d.transform(events).deliveries) out.push(await d.send(delivery, executor));
    return out;
  }

  it('HSETs traits, keeps the latest N events newest first, and group membership', async () => {
    const d = dest();
    const verdicts = await sendAll(d, [
      identify(),
      ...manyTracks(8),
      group(),
      identify({ messageId: 'i2', traits: { plan: 'enterprise' } }),
    ]);
    expect(verdicts).toEqual([{ kind: 'ok' }]);
    expect(await client.hgetall(`${prefix}user:user-12345:traits`)).toEqual({
      email: 'ada@example.com',
      firstName: 'Ada',
      lastName: 'Lovelace',
      plan: 'enterprise',
      'address.city': 'London',
      'address.country': 'UK',
    });
    const recent = (await client.lrange(`${prefix}user:user-12345:events`, 0, -1)).map(
      (s) => JSON.parse(s) as { properties: { i: number } },
    );
    expect(recent.map((e) => e.properties.i)).toEqual([7, 6, 5, 4, 3]);
    expect(await client.smembers(`${prefix}user:user-12345:groups`)).toEqual(['acme-inc']);
    expect(await client.hgetall(`${prefix}group:acme-inc:traits`)).toEqual({ name: 'Acme', employees: '42' });
  });

  it('applies TTLs', async () => {
    await sendAll(dest({ ttlSeconds: 120, keyPrefix: `${prefix}ttl:` }), [track()]);
    const ttl = await client.ttl(`${prefix}ttl:user:user-12345:events`);
    expect(ttl).toBeGreaterThan(100);
  });

  it('a key of the wrong type is a reply error: abort, and the transaction wrote nothing else', async () => {
    const p2 = `${prefix}wrong:`;
    await client.set(`${p2}user:u-9:events`, 'a string');
    const verdicts = await sendAll(dest({ keyPrefix: p2 }), [identify({ userId: 'u-9' }), track({ userId: 'u-9' })]);
    expect(verdicts[0]).toMatchObject({ kind: 'abort', reason: expect.stringContaining('WRONGTYPE') });
  });
});
