import os from 'node:os';
import {
  bool,
  buildConfig,
  Env,
  kafkaConfigSchema,
  list,
  num,
  readKafkaEnv,
  readRegistryEnv,
  registryConfigSchema,
  z,
} from '@sluice/config';

const KB = 1024;
const MB = 1024 * KB;

export const gatewayConfigSchema = z.object({
  port: z.number().int().min(0).max(65535).default(8080),
  host: z.string().default('0.0.0.0'),
  /**
   * Worker processes (node:cluster) sharing the port; 1 runs in the main process. One process
   * with encoder threads is the default: it uses every core at a fraction of the memory (0508).
   */
  workers: z.number().int().min(1).max(64).default(1),
  /** The workspace file: `{ "sources": [{ id, name, writeKey, enabled }], ... }`. */
  workspaceFile: z.string().min(1),
  /** How often the workspace file is stat'ed, besides fs.watch. */
  workspaceReloadMs: z.number().int().min(100).default(2000),
  limits: z
    .object({
      /** One event (a single call's body, or one item of a batch). Segment: 32 KB. */
      maxEventBytes: z
        .number()
        .int()
        .min(KB)
        .max(512 * KB)
        .default(32 * KB),
      /** A batch request's body, after decompression. Segment: 500 KB; RudderStack: 4,000 KB. */
      maxBatchBytes: z
        .number()
        .int()
        .min(KB)
        .max(4 * MB)
        .default(500 * KB),
      /** Items in one batch. Segment: 2,500. */
      maxBatchEvents: z.number().int().min(1).max(100000).default(2500),
    })
    .default({}),
  /** Records collect for this long before a produce call when Kafka is idle. */
  lingerMs: z.number().min(0).max(1000).default(2),
  /** Upper bound on the bytes of one produce call (Kafka's message.max.bytes is ~1 MB per partition). */
  maxSendBytes: z
    .number()
    .int()
    .min(16 * KB)
    .max(64 * MB)
    .default(900 * KB),
  /** The Kafka client of the produce path (decision 0506); `kafkajs` with KAFKA_IDEMPOTENT. */
  kafkaProducer: z.enum(['platformatic', 'kafkajs']).default('platformatic'),
  /** Threads (per process) that parse and encode requests (decision 0508); 0: the HTTP thread does it. */
  encoderThreads: z
    .number()
    .int()
    .min(0)
    .max(64)
    .default(Math.max(1, os.availableParallelism?.() ?? os.cpus().length)),
  /** Produce calls in flight per worker (pipelining); forced to 1 when the producer is idempotent. */
  maxInflightSends: z.number().int().min(1).max(16).default(3),
  /**
   * KafkaJS's idempotent producer (no duplicates from producer retries) serialises produce
   * calls per broker; off by default: the processor dedupes by messageId (decision 0502).
   */
  kafkaIdempotent: z.boolean().default(false),
  /** A request not acknowledged by Kafka in this time gets 503 + Retry-After. */
  ackDeadlineMs: z.number().int().min(100).max(120000).default(5000),
  /** Seconds told to clients in Retry-After on 503 and 429. */
  retryAfterSeconds: z.number().int().min(1).max(3600).default(5),
  /** Cap on request bytes held per worker (bodies read, records waiting for acks): beyond it, 503. */
  maxInflightBytes: z
    .number()
    .int()
    .min(MB)
    .default(128 * MB),
  /** Events per second per source (token bucket, per worker share); 0 switches the limit off. */
  rateLimit: z
    .object({
      eventsPerSecond: z.number().min(0).default(0),
      /** Bucket size; defaults to one second of events. */
      burst: z.number().min(0).optional(),
    })
    .default({}),
  /** Use the first X-Forwarded-For address as the client ip (behind a trusted proxy). */
  trustProxy: z.boolean().default(false),
  /** Allowed browser origins; `*` allows any (the origin is echoed, credentials allowed). */
  corsOrigins: z.array(z.string()).default(['*']),
  /** Milliseconds between Kafka readiness probes. */
  healthProbeMs: z.number().int().min(100).default(2000),
  /** Optional separate ops port for /metrics and /health (0 = none; the main port serves them too). */
  metricsPort: z.number().int().min(0).max(65535).default(0),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  kafka: kafkaConfigSchema,
  registry: registryConfigSchema,
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export function readGatewayEnv(env: Env): Record<string, unknown> {
  const burst = num(env.RATE_LIMIT_BURST);
  return {
    port: num(env.PORT),
    host: env.HOST,
    workers: num(env.WORKERS),
    workspaceFile: env.WORKSPACE_FILE,
    workspaceReloadMs: num(env.WORKSPACE_RELOAD_MS),
    limits: {
      maxEventBytes: num(env.MAX_EVENT_BYTES),
      maxBatchBytes: num(env.MAX_BATCH_BYTES),
      maxBatchEvents: num(env.MAX_BATCH_EVENTS),
    },
    lingerMs: num(env.LINGER_MS),
    maxSendBytes: num(env.KAFKA_MAX_SEND_BYTES),
    ackDeadlineMs: num(env.ACK_DEADLINE_MS),
    maxInflightSends: num(env.KAFKA_MAX_INFLIGHT_SENDS),
    kafkaProducer: env.KAFKA_PRODUCER,
    encoderThreads: num(env.ENCODER_THREADS),
    kafkaIdempotent: bool(env.KAFKA_IDEMPOTENT),
    retryAfterSeconds: num(env.RETRY_AFTER_SECONDS),
    maxInflightBytes: num(env.MAX_INFLIGHT_BYTES),
    rateLimit: { eventsPerSecond: num(env.RATE_LIMIT_EVENTS_PER_SEC), burst },
    trustProxy: bool(env.TRUST_PROXY),
    corsOrigins: list(env.CORS_ORIGINS),
    healthProbeMs: num(env.HEALTH_PROBE_MS),
    metricsPort: num(env.METRICS_PORT),
    logLevel: env.LOG_LEVEL,
    kafka: readKafkaEnv(env, 'sluice-gateway'),
    registry: readRegistryEnv(env),
  };
}

export function loadGatewayConfig(env: Env): GatewayConfig {
  return buildConfig('gateway', gatewayConfigSchema, readGatewayEnv, env);
}
