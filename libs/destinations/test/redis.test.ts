import { bind, createRedisExecutor, redisDestination, redisDestinationConfigSchema } from '../src';
import { alias, group, identify, page, track } from './fixtures';

const config = redisDestinationConfigSchema.parse({ recentEvents: 10 });

describe('redis destination', () => {
  it('identify → HSET of flattened traits', () => {
    const out = redisDestination.transform([identify()], config);
    expect(out.deliveries[0]!.payload.commands).toEqual([
      [
        'HSET',
        'sluice:user:user-12345:traits',
        'email',
        'ada@example.com',
        'firstName',
        'Ada',
        'lastName',
        'Lovelace',
        'plan',
        'pro',
        'address.city',
        'London',
        'address.country',
        'UK',
      ],
    ]);
  });

  it('track/page → LPUSH + LTRIM of the recent events list', () => {
    const out = redisDestination.transform([track(), page()], config);
    const cmds = out.deliveries[0]!.payload.commands;
    expect(cmds[0]![0]).toBe('LPUSH');
    expect(cmds[0]![1]).toBe('sluice:user:user-12345:events');
    expect(JSON.parse(cmds[0]![2]!)).toMatchObject({
      messageId: 'msg-track-1',
      type: 'track',
      event: 'Button Clicked',
    });
    expect(cmds[1]).toEqual(['LTRIM', 'sluice:user:user-12345:events', '0', '9']);
    expect(JSON.parse(cmds[2]![2]!)).toMatchObject({ type: 'page', name: 'Cart' });
  });

  it('group → group traits and membership; alias skipped; no id rejected; TTL applied', () => {
    const ttl = redisDestinationConfigSchema.parse({ ttlSeconds: 60 });
    const out = redisDestination.transform(
      [group(), alias(), track({ userId: null, anonymousId: null, messageId: 'noid' })],
      ttl,
    );
    expect(out.deliveries[0]!.payload.commands).toEqual([
      ['HSET', 'sluice:group:acme-inc:traits', 'name', 'Acme', 'employees', '42'],
      ['EXPIRE', 'sluice:group:acme-inc:traits', '60'],
      ['SADD', 'sluice:user:user-12345:groups', 'acme-inc'],
      ['EXPIRE', 'sluice:user:user-12345:groups', '60'],
    ]);
    expect(out.skipped).toEqual([{ messageId: 'msg-alias-1', reason: expect.stringContaining('alias') }]);
    expect(out.rejected[0]!.messageId).toBe('noid');
  });

  it('runs a batch in one MULTI/EXEC and classifies failures', async () => {
    const d = bind(redisDestination, config);
    if (d.transport !== 'redis') throw new Error();
    const delivery = d.transform([identify()]).deliveries[0]!;
    const seen: string[][][] = [];
    const ok = createRedisExecutor({
      multi: (c) => ({ exec: async () => (seen.push(c), c.map(() => [null, 1] as [null, number])) }),
    });
    expect(await d.send(delivery, ok)).toEqual({ kind: 'ok' });
    expect(seen[0]).toEqual(delivery.payload.commands.map(([c, ...a]) => [c!.toLowerCase(), ...a]));
    const wrongType = createRedisExecutor({
      multi: () => ({ exec: async () => [[new Error('WRONGTYPE Operation against a key'), null]] }),
    });
    expect((await d.send(delivery, wrongType)).kind).toBe('abort');
    const refused = createRedisExecutor({
      multi: () => ({
        exec: async () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })),
      }),
    });
    expect((await d.send(delivery, refused)).kind).toBe('retry');
  });
});
