import {
  buildConfig,
  Env,
  kafkaConfigSchema,
  list,
  num,
  observabilityConfigSchema,
  readKafkaEnv,
  readObservabilityEnv,
  readRegistryEnv,
  registryConfigSchema,
  z,
} from '@sluice/config';
import { deliverySettingsSchema } from '@sluice/delivery';

export const routerConfigSchema = z.object({
  kafka: kafkaConfigSchema,
  registry: registryConfigSchema,
  observability: observabilityConfigSchema.extend({ metricsPort: z.number().int().min(0).max(65535).default(9403) }),
  /** JSON file with a `destinations` array of `{id, type, name, enabled, config}`. */
  workspaceFile: z.string().min(1),
  /** Run only these destination ids (default: every enabled destination of the workspace). */
  only: z.array(z.string()).optional(),
  /** Defaults for every destination; a destination's `config.delivery` overrides them. */
  delivery: deliverySettingsSchema,
  /** How soon the group notices a dead router instance. */
  sessionTimeoutMs: z.number().int().min(6000).default(30_000),
});
export type RouterConfig = z.infer<typeof routerConfigSchema>;

export function readRouterEnv(env: Env): Record<string, unknown> {
  return {
    kafka: readKafkaEnv(env, 'sluice-router'),
    registry: readRegistryEnv(env),
    observability: readObservabilityEnv(env),
    workspaceFile: env.WORKSPACE_FILE,
    only: list(env.ROUTER_DESTINATIONS),
    sessionTimeoutMs: num(env.ROUTER_SESSION_TIMEOUT_MS),
    delivery: {
      minBackoffMs: num(env.ROUTER_MIN_BACKOFF_MS),
      maxBackoffMs: num(env.ROUTER_MAX_BACKOFF_MS),
      backoffMultiplier: num(env.ROUTER_BACKOFF_MULTIPLIER),
      jitter: num(env.ROUTER_BACKOFF_JITTER),
      retryWindowMs: num(env.ROUTER_RETRY_WINDOW_MS),
      minAttempts: num(env.ROUTER_MIN_ATTEMPTS),
      maxRetryAfterMs: num(env.ROUTER_MAX_RETRY_AFTER_MS),
      maxQueuedPerPartition: num(env.ROUTER_MAX_QUEUED_PER_PARTITION),
      maxInFlightRequests: num(env.ROUTER_MAX_IN_FLIGHT),
      ratePerSecond: num(env.ROUTER_RATE_PER_SECOND),
      rateBurst: num(env.ROUTER_RATE_BURST),
      maxBatchSize: num(env.ROUTER_MAX_BATCH_SIZE),
      deliveryTimeoutMs: num(env.ROUTER_DELIVERY_TIMEOUT_MS),
      commitIntervalMs: num(env.ROUTER_COMMIT_INTERVAL_MS),
      stopTimeoutMs: num(env.ROUTER_STOP_TIMEOUT_MS),
    },
  };
}

export function loadRouterConfig(env: Env): RouterConfig {
  return buildConfig('router', routerConfigSchema, readRouterEnv, env);
}
