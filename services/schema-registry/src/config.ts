import { buildConfig, type Env, kafkaConfigSchema, num, readKafkaEnv, z } from '@sluice/config';

export const registryServiceConfigSchema = z.object({
  /** HTTP port of the API (also serves /metrics and /health); 0 picks a free port. */
  port: z.number().int().min(0).max(65535).default(8081),
  host: z.string().min(1).default('127.0.0.1'),
  kafka: kafkaConfigSchema,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** A separate /metrics + /health port, when operators want one apart from the API. */
  metricsPort: z.number().int().min(0).max(65535).optional(),
  /** How long a write waits to be read back from the log before answering 50002. */
  writeTimeoutMs: z.number().int().positive().default(30000),
});
export type RegistryServiceConfig = z.infer<typeof registryServiceConfigSchema>;

export function readRegistryServiceEnv(env: Env): Record<string, unknown> {
  return {
    port: num(env.PORT),
    host: env.HOST,
    kafka: readKafkaEnv(env, 'sluice-schema-registry'),
    logLevel: env.LOG_LEVEL,
    metricsPort: num(env.METRICS_PORT),
    writeTimeoutMs: num(env.SCHEMA_REGISTRY_WRITE_TIMEOUT_MS),
  };
}

export function loadRegistryServiceConfig(env: Env): RegistryServiceConfig {
  return buildConfig('schema-registry', registryServiceConfigSchema, readRegistryServiceEnv, env);
}
