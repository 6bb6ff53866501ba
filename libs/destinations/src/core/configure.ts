import type { SegmentEvent } from './event';
import { defaultClassify, deliver, type FetchLike } from './http';
import type {
  AuthToken,
  Delivery,
  DeliveryVerdict,
  DestinationDefinition,
  EventVerdict,
  HttpDestinationDefinition,
  HttpOutcome,
  HttpRequest,
  KafkaDestinationDefinition,
  KafkaRecordBatch,
  RedisCommandBatch,
  RedisDestinationDefinition,
  TransformResult,
} from './types';

export interface HttpRuntime {
  timeoutMs: number;
  fetch?: FetchLike;
  now?: () => number;
}

/** What the router gives a Kafka destination: produce a batch durably (acks=all) or throw. */
export interface KafkaRecordProducer {
  send(batch: KafkaRecordBatch): Promise<void>;
}

/** What the router gives a Redis destination: run the commands in one MULTI/EXEC or throw. */
export interface RedisExecutor {
  exec(batch: RedisCommandBatch): Promise<void>;
}

interface ConfiguredBase {
  type: string;
  displayName: string;
  maxBatchSize: number;
}

export interface ConfiguredHttpDestination extends ConfiguredBase {
  transport: 'http';
  transform(events: readonly SegmentEvent[]): TransformResult<HttpRequest>;
  classify(outcome: HttpOutcome, delivery: Delivery<HttpRequest>): DeliveryVerdict;
  /** Authorizes (cached token, refreshed once when the vendor says it expired), sends, classifies. */
  send(delivery: Delivery<HttpRequest>, runtime: HttpRuntime): Promise<DeliveryVerdict>;
}

export interface ConfiguredKafkaDestination extends ConfiguredBase {
  transport: 'kafka';
  transform(events: readonly SegmentEvent[]): TransformResult<KafkaRecordBatch>;
  send(delivery: Delivery<KafkaRecordBatch>, producer: KafkaRecordProducer): Promise<DeliveryVerdict>;
}

export interface ConfiguredRedisDestination extends ConfiguredBase {
  transport: 'redis';
  transform(events: readonly SegmentEvent[]): TransformResult<RedisCommandBatch>;
  send(delivery: Delivery<RedisCommandBatch>, executor: RedisExecutor): Promise<DeliveryVerdict>;
}

export type ConfiguredDestination = ConfiguredHttpDestination | ConfiguredKafkaDestination | ConfiguredRedisDestination;

export type ConfigureResult = { ok: true; destination: ConfiguredDestination } | { ok: false; problems: string[] };

/** A definition with its config type erased: what the registry holds. */
export interface RegisteredDestination {
  type: string;
  displayName: string;
  transport: ConfiguredDestination['transport'];
  /** Validates settings and binds them; each call gets its own auth cache. */
  configure(rawConfig: unknown): ConfigureResult;
}

export function register<C>(def: DestinationDefinition<C>): RegisteredDestination {
  return {
    type: def.type,
    displayName: def.displayName,
    transport: def.transport,
    configure(rawConfig: unknown): ConfigureResult {
      const parsed = def.configSchema.safeParse(rawConfig);
      if (!parsed.success) {
        return {
          ok: false,
          problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`),
        };
      }
      return { ok: true, destination: bind(def, parsed.data) };
    },
  };
}

/** Binds an already-validated config (typed use, tests). */
export function bind<C>(def: DestinationDefinition<C>, config: C): ConfiguredDestination {
  switch (def.transport) {
    case 'http':
      return bindHttp(def, config);
    case 'kafka':
      return bindKafka(def, config);
    case 'redis':
      return bindRedis(def, config);
  }
}

export function bindHttp<C>(def: HttpDestinationDefinition<C>, config: C): ConfiguredHttpDestination {
  let token: AuthToken | undefined;
  const classify = (outcome: HttpOutcome, delivery: Delivery<HttpRequest>): DeliveryVerdict =>
    def.classify ? def.classify(outcome, delivery, config) : defaultClassify(outcome);

  return {
    transport: 'http',
    type: def.type,
    displayName: def.displayName,
    maxBatchSize: def.maxBatchSize(config),
    transform: (events) => def.transform(events, config),
    classify,
    async send(delivery, runtime) {
      const now = runtime.now ?? Date.now;
      const exec = (request: HttpRequest) => deliver(request, { timeoutMs: runtime.timeoutMs, fetch: runtime.fetch });
      const auth = def.auth;
      if (!auth) return classify(await exec(delivery.payload), delivery);

      const authorize = async (): Promise<AuthToken | EventVerdict> => {
        if (token && (token.expiresAtMs === undefined || token.expiresAtMs > now())) return token;
        token = undefined;
        const result = await auth.fetchToken(config, exec, now());
        if (!result.ok) return result.verdict;
        token = result.token;
        return token;
      };

      let current = await authorize();
      if (!('accessToken' in current)) return current;
      let outcome = await exec(auth.apply(delivery.payload, current, config));
      if (auth.isExpired(outcome)) {
        token = undefined;
        current = await authorize();
        if (!('accessToken' in current)) return current;
        outcome = await exec(auth.apply(delivery.payload, current, config));
        if (auth.isExpired(outcome)) token = undefined;
      }
      return classify(outcome, delivery);
    },
  };
}

const RETRIABLE_KAFKA_ERRORS = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSTimeout',
]);

/** KafkaJS errors carry `retriable`; broker-down and timeout errors retry even when it is false. */
export function classifyKafkaError(err: unknown): EventVerdict {
  const name = err instanceof Error ? err.name : '';
  const message = err instanceof Error ? err.message : String(err);
  const retriable =
    (typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true) ||
    RETRIABLE_KAFKA_ERRORS.has(name);
  const reason = `${name || 'Error'}: ${message}`;
  return retriable ? { kind: 'retry', reason } : { kind: 'abort', reason };
}

function bindKafka<C>(def: KafkaDestinationDefinition<C>, config: C): ConfiguredKafkaDestination {
  return {
    transport: 'kafka',
    type: def.type,
    displayName: def.displayName,
    maxBatchSize: def.maxBatchSize(config),
    transform: (events) => def.transform(events, config),
    async send(delivery, producer) {
      try {
        await producer.send(delivery.payload);
        return { kind: 'ok' };
      } catch (err) {
        return classifyKafkaError(err);
      }
    },
  };
}

const RETRIABLE_NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Connection trouble, LOADING, BUSY, TRYAGAIN and closed connections retry;
 * a Redis reply error (WRONGTYPE, syntax) aborts.
 */
export function classifyRedisError(err: unknown): EventVerdict {
  const message = err instanceof Error ? err.message : String(err);
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const reason = `redis: ${message}`;
  if (typeof code === 'string' && RETRIABLE_NET_CODES.has(code)) return { kind: 'retry', reason };
  if (/^(LOADING|BUSY|TRYAGAIN|CLUSTERDOWN|MASTERDOWN|READONLY)\b/.test(message)) return { kind: 'retry', reason };
  if (/connection|closed|timeout|ECONN/i.test(message)) return { kind: 'retry', reason };
  // ioredis gives up on a command while it cannot reach the server (MaxRetriesPerRequestError).
  if (/max retries per request/i.test(message)) return { kind: 'retry', reason };
  return { kind: 'abort', reason };
}

function bindRedis<C>(def: RedisDestinationDefinition<C>, config: C): ConfiguredRedisDestination {
  return {
    transport: 'redis',
    type: def.type,
    displayName: def.displayName,
    maxBatchSize: def.maxBatchSize(config),
    transform: (events) => def.transform(events, config),
    async send(delivery, executor) {
      try {
        await executor.exec(delivery.payload);
        return { kind: 'ok' };
      } catch (err) {
        return classifyRedisError(err);
      }
    },
  };
}
