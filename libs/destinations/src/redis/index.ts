import { z } from 'zod';
import type { RedisExecutor } from '../core/configure';
import { collect, unsupported } from '../core/collect';
import { eventTimeIso, isJsonObject, type JsonObject, type SegmentEvent } from '../core/event';
import { chunk } from '../core/http';
import type { RedisCommand, RedisDestinationDefinition } from '../core/types';

export const redisDestinationConfigSchema = z.object({
  /** Where the router connects (ioredis URL: redis://[:password@]host:port[/db], rediss:// for TLS). */
  url: z.string().min(1).default('redis://127.0.0.1:6379'),
  keyPrefix: z.string().default('sluice:'),
  /** How many recent events each user's list keeps (LPUSH + LTRIM). */
  recentEvents: z.number().int().min(1).max(10000).default(100),
  /** EXPIRE on every key written; absent = keys do not expire. */
  ttlSeconds: z.number().int().min(1).optional(),
  batchSize: z.number().int().min(1).max(1000).default(100),
});
export type RedisDestinationConfig = z.infer<typeof redisDestinationConfigSchema>;

/** Nested objects become dotted fields; strings stay as they are, everything else is JSON text. */
export function flattenForHash(obj: JsonObject, prefix = '', out: string[] = []): string[] {
  for (const [k, v] of Object.entries(obj)) {
    const field = prefix ? `${prefix}.${k}` : k;
    if (isJsonObject(v)) flattenForHash(v, field, out);
    else out.push(field, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return out;
}

function expire(config: RedisDestinationConfig, key: string): RedisCommand[] {
  return config.ttlSeconds ? [['EXPIRE', key, String(config.ttlSeconds)]] : [];
}

function commandsFor(
  ev: SegmentEvent,
  config: RedisDestinationConfig,
): RedisCommand[] | { skip: string } | { reject: string } {
  const id = ev.userId || ev.anonymousId;
  if (!id) return { reject: 'event has neither userId nor anonymousId' };
  const p = config.keyPrefix;
  switch (ev.type) {
    case 'identify': {
      const fields = flattenForHash(ev.traits ?? {});
      if (fields.length === 0) return { skip: 'identify without traits writes nothing' };
      const key = `${p}user:${id}:traits`;
      return [['HSET', key, ...fields], ...expire(config, key)];
    }
    case 'group': {
      const key = `${p}group:${ev.groupId}:traits`;
      const fields = flattenForHash(ev.traits ?? {});
      const memberKey = `${p}user:${id}:groups`;
      return [
        ...(fields.length > 0 ? [['HSET', key, ...fields], ...expire(config, key)] : []),
        ['SADD', memberKey, ev.groupId],
        ...expire(config, memberKey),
      ];
    }
    case 'track':
    case 'page':
    case 'screen': {
      const key = `${p}user:${id}:events`;
      const entry = {
        messageId: ev.messageId,
        type: ev.type,
        ...(ev.type === 'track' ? { event: ev.event } : ev.name ? { name: ev.name } : {}),
        properties: ev.properties ?? {},
        timestamp: eventTimeIso(ev),
      };
      return [
        ['LPUSH', key, JSON.stringify(entry)],
        ['LTRIM', key, '0', String(config.recentEvents - 1)],
        ...expire(config, key),
      ];
    }
    case 'alias':
      return unsupported(ev, 'Redis');
  }
}

export const redisDestination: RedisDestinationDefinition<RedisDestinationConfig> = {
  transport: 'redis',
  type: 'redis',
  displayName: 'Redis',
  configSchema: redisDestinationConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, (ev) => {
      const r = commandsFor(ev, config);
      return Array.isArray(r) ? { ok: r } : r;
    });
    const deliveries = chunk(items, config.batchSize).map((group) => ({
      messageIds: group.map((g) => g.messageId),
      payload: { commands: group.flatMap((g) => g.item) },
    }));
    return { deliveries, skipped, rejected };
  },
};

/** The part of an ioredis client the executor uses (structural, so this lib does not depend on ioredis). */
export interface MultiCapableRedis {
  multi(commands: string[][]): { exec(): Promise<Array<[Error | null, unknown]> | null> };
}

/** Runs a batch in one MULTI/EXEC; throws on a transaction abort or any command error. */
export function createRedisExecutor(client: MultiCapableRedis): RedisExecutor {
  return {
    async exec(batch) {
      if (batch.commands.length === 0) return;
      // ioredis names commands by lower-case method name.
      const commands = batch.commands.map(([name, ...args]) => [(name ?? '').toLowerCase(), ...args]);
      const results = await client.multi(commands).exec();
      if (results === null) throw new Error('redis transaction aborted');
      for (const [err] of results) if (err) throw err;
    },
  };
}
