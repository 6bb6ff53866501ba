import os from 'node:os';
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

export const kafkaSourceConfigSchema = z.object({
  kafka: kafkaConfigSchema,
  registry: registryConfigSchema,
  observability: observabilityConfigSchema.extend({ metricsPort: z.number().int().min(0).max(65535).default(9407) }),
  /** The workspace file; its sources of `type: "kafka"` are run here. */
  workspaceFile: z.string().min(1),
  /** Run only these source ids (default: every enabled kafka source). */
  only: z.array(z.string()).optional(),
  /** Stable per instance: the transactional ids derive from it, so a restart fences its crashed predecessor. */
  instanceId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
  maxBytesPerPartition: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  sessionTimeoutMs: z.number().int().min(6000).default(30000),
  transactionTimeoutMs: z.number().int().min(1000).default(30000),
});
export type KafkaSourceConfig = z.infer<typeof kafkaSourceConfigSchema>;

export function loadKafkaSourceConfig(env: Env): KafkaSourceConfig {
  return buildConfig(
    'kafka-source',
    kafkaSourceConfigSchema,
    (e) => ({
      kafka: readKafkaEnv(e, 'sluice-kafka-source'),
      registry: readRegistryEnv(e),
      observability: readObservabilityEnv(e),
      workspaceFile: e.WORKSPACE_FILE,
      only: list(e.KAFKA_SOURCE_IDS),
      instanceId: e.KAFKA_SOURCE_INSTANCE_ID ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-'),
      maxBytesPerPartition: num(e.KAFKA_SOURCE_MAX_BYTES_PER_PARTITION),
      sessionTimeoutMs: num(e.KAFKA_SOURCE_SESSION_TIMEOUT_MS),
      transactionTimeoutMs: num(e.KAFKA_SOURCE_TRANSACTION_TIMEOUT_MS),
    }),
    env,
  );
}
