import { z } from 'zod';

export { z };

/** The environment as a plain map; services pass `process.env`, tests pass literals. */
export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  readonly retriable = false;
  constructor(
    readonly service: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration for ${service}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Builds one service's typed config: `read` maps environment variables onto the
 * shape of `schema` (leaving unset values undefined so the schema's defaults
 * apply), then the schema validates the whole object once, at start-up.
 */
export function buildConfig<S extends z.ZodTypeAny>(
  service: string,
  schema: S,
  read: (env: Env) => unknown,
  env: Env,
): z.infer<S> {
  const parsed = schema.safeParse(read(env));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new ConfigError(service, problems);
  }
  return parsed.data as z.infer<S>;
}

/** Comma-separated list, e.g. KAFKA_BROKERS=host1:9092,host2:9092. */
export function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** Numbers from the environment stay strings until the schema coerces them. */
export function num(value: string | undefined): number | string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const n = Number(value);
  return Number.isFinite(n) ? n : value;
}

export function bool(value: string | undefined): boolean | string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const v = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return value;
}

/** Kafka connection settings shared by every service. */
export const kafkaConfigSchema = z.object({
  brokers: z
    .array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port'))
    .min(1)
    .default(['127.0.0.1:9092']),
  clientId: z.string().min(1).default('sluice'),
  /** Topic names get this prefix so several Sluice installs (or test runs) share a cluster. */
  topicPrefix: z.string().default(''),
  ssl: z.boolean().default(false),
  sasl: z
    .object({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string().min(1),
      password: z.string().min(1),
    })
    .optional(),
});
export type KafkaConfig = z.infer<typeof kafkaConfigSchema>;

export function readKafkaEnv(env: Env, clientId: string): Record<string, unknown> {
  const mechanism = env.KAFKA_SASL_MECHANISM;
  return {
    brokers: list(env.KAFKA_BROKERS),
    clientId: env.KAFKA_CLIENT_ID ?? clientId,
    topicPrefix: env.SLUICE_TOPIC_PREFIX,
    ssl: bool(env.KAFKA_SSL),
    sasl: mechanism ? { mechanism, username: env.KAFKA_SASL_USERNAME, password: env.KAFKA_SASL_PASSWORD } : undefined,
  };
}

export const registryConfigSchema = z.object({
  url: z.string().url().default('http://127.0.0.1:8081'),
  username: z.string().optional(),
  password: z.string().optional(),
});
export type RegistryConfig = z.infer<typeof registryConfigSchema>;

export function readRegistryEnv(env: Env): Record<string, unknown> {
  return {
    url: env.SCHEMA_REGISTRY_URL,
    username: env.SCHEMA_REGISTRY_USERNAME,
    password: env.SCHEMA_REGISTRY_PASSWORD,
  };
}

export const observabilityConfigSchema = z.object({
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Port of the /metrics and /health endpoint; 0 picks a free port. */
  metricsPort: z.number().int().min(0).max(65535),
});
export type ObservabilityConfig = z.infer<typeof observabilityConfigSchema>;

export function readObservabilityEnv(env: Env): Record<string, unknown> {
  return { logLevel: env.LOG_LEVEL, metricsPort: num(env.METRICS_PORT) };
}
