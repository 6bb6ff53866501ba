import os from 'node:os';
import {
  buildConfig,
  Env,
  kafkaConfigSchema,
  num,
  observabilityConfigSchema,
  readKafkaEnv,
  readObservabilityEnv,
  readRegistryEnv,
  registryConfigSchema,
  z,
} from '@sluice/config';

export const processorConfigSchema = z.object({
  kafka: kafkaConfigSchema,
  registry: registryConfigSchema,
  observability: observabilityConfigSchema.extend({ metricsPort: z.number().int().min(0).max(65535).default(9465) }),
  workspaceFile: z.string().min(1).default('config/workspace.example.json'),
  groupId: z.string().min(1).default('sluice-processor'),
  /**
   * Stable per instance (a pod name, a hostname): the transactional id derives
   * from it, so a restarted instance fences its crashed predecessor at once.
   */
  instanceId: z.string().regex(/^[A-Za-z0-9._-]+$/, 'letters, digits, . _ - only'),
  dedupeWindowMs: z
    .number()
    .int()
    .positive()
    .default(24 * 60 * 60 * 1000),
  dedupeMaxEntriesPerPartition: z.number().int().positive().default(5_000_000),
  maxBytesPerPartition: z
    .number()
    .int()
    .positive()
    .default(1024 * 1024),
  sessionTimeoutMs: z.number().int().min(6000).default(30000),
  /** Partitions' batches handled at once, each in its own transaction (decision 0306). */
  concurrency: z.number().int().min(1).max(32).default(3),
  transactionTimeoutMs: z.number().int().min(1000).default(30000),
  /** The client that commits the transactions (decision 0307). */
  transactionalClient: z.enum(['platformatic', 'kafkajs']).default('platformatic'),
  transformTimeoutMs: z.number().int().positive().default(5000),
  transformMemoryMb: z.number().int().min(8).default(128),
});
export type ProcessorConfig = z.infer<typeof processorConfigSchema>;

export function loadProcessorConfig(env: Env): ProcessorConfig {
  return buildConfig(
    'processor',
    processorConfigSchema,
    (e) => ({
      kafka: readKafkaEnv(e, 'sluice-processor'),
      registry: readRegistryEnv(e),
      observability: readObservabilityEnv(e),
      workspaceFile: e.WORKSPACE_FILE,
      groupId: e.PROCESSOR_GROUP_ID,
      instanceId: e.PROCESSOR_INSTANCE_ID ?? os.hostname().replace(/[^A-Za-z0-9._-]/g, '-'),
      dedupeWindowMs: num(e.DEDUPE_WINDOW_MS),
      dedupeMaxEntriesPerPartition: num(e.DEDUPE_MAX_ENTRIES_PER_PARTITION),
      maxBytesPerPartition: num(e.PROCESSOR_MAX_BYTES_PER_PARTITION),
      sessionTimeoutMs: num(e.PROCESSOR_SESSION_TIMEOUT_MS),
      transactionTimeoutMs: num(e.PROCESSOR_TRANSACTION_TIMEOUT_MS),
      concurrency: num(e.PROCESSOR_CONCURRENCY),
      transactionalClient: e.PROCESSOR_TRANSACTIONAL_CLIENT,
      transformTimeoutMs: num(e.TRANSFORM_TIMEOUT_MS),
      transformMemoryMb: num(e.TRANSFORM_MEMORY_MB),
    }),
    env,
  );
}
