import {
  buildConfig,
  bool,
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

const lakeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('local'), root: z.string().min(1) }),
  z.object({
    kind: z.literal('s3'),
    bucket: z.string().min(1),
    prefix: z.string().default(''),
    region: z.string().min(1).default('us-east-1'),
    endpoint: z.string().url().optional(),
    forcePathStyle: z.boolean().default(false),
    credentials: z
      .object({
        accessKeyId: z.string().min(1),
        secretAccessKey: z.string().min(1),
        sessionToken: z.string().optional(),
      })
      .optional(),
  }),
]);
export type LakeLocation = z.infer<typeof lakeSchema>;

export const loaderConfigSchema = z.object({
  kafka: kafkaConfigSchema,
  registry: registryConfigSchema,
  observability: observabilityConfigSchema.extend({ metricsPort: z.number().int().min(0).max(65535).default(9306) }),
  lake: lakeSchema,
  /** delta: Delta tables; parquet: plain Parquet files; both. */
  format: z.enum(['delta', 'parquet', 'both']).default('delta'),
  /** Consumer group of the event loader; the identity consumer uses `<groupId>.identity`. */
  groupId: z.string().min(1).default('sluice-warehouse-loader'),
  flush: z.object({
    /** A partition's buffer is committed once it holds this many events... */
    maxEvents: z.number().int().min(1).default(20000),
    /** ...or once its oldest event waited this long. */
    intervalMs: z.number().int().min(10).default(3000),
  }),
  /** Events held in memory by this instance before fetching waits for flushes; default 4 × flush.maxEvents. */
  maxBufferedEvents: z.number().int().min(1).optional(),
  /** Partition batches committed to the lake at once by this instance. */
  flushConcurrency: z.number().int().min(1).default(1),
  /**
   * Loader processes of this instance (node:cluster), each a member of the consumer group with its
   * own share of the partitions; the instance's metrics port sums them. 1 runs in the main process.
   */
  workers: z.number().int().min(1).max(64).default(1),
  /** Partitions handled at once by this instance (bounds in-flight fetches). */
  partitionsConcurrently: z.number().int().min(1).default(12),
  maxBytesPerPartition: z
    .number()
    .int()
    .min(1024)
    .default(1024 * 1024),
  /** Identity stitching on (`sluice.identity.edges` → identity tables). */
  identity: z.boolean().default(true),
  /** Compaction of small files every N ms (0 = off). */
  compactEveryMs: z.number().int().min(0).default(0),
  snowflake: z
    .object({
      account: z.string().min(1),
      username: z.string().min(1),
      password: z.string().min(1),
      database: z.string().min(1),
      schema: z.string().min(1).default('PUBLIC'),
      warehouse: z.string().optional(),
      role: z.string().optional(),
      /** Full URL of the account (private link or a local stand-in); default: derived from the account. */
      accessUrl: z.string().url().optional(),
      /** Internal stage the batches' Parquet files are PUT to (created if missing). */
      stage: z.string().min(1).default('sluice_stage'),
    })
    .optional(),
  databricks: z
    .object({
      host: z.string().min(1),
      httpPath: z.string().startsWith('/'),
      token: z.string().min(1),
      catalog: z.string().min(1),
      schema: z.string().min(1).default('default'),
      /** Unity Catalog volume the Parquet files are PUT to before COPY INTO. */
      volume: z
        .string()
        .regex(/^\/Volumes\/[^/]+\/[^/]+\/[^/]+/, 'a volume path: /Volumes/<catalog>/<schema>/<volume>'),
    })
    .optional(),
  /** Test hook: milliseconds to wait between writing a commit's data files and its log entry. */
  testCommitDelayMs: z.number().int().min(0).default(0),
});
export type LoaderConfig = z.infer<typeof loaderConfigSchema>;

/** `s3://bucket/prefix`, `file:///abs/path` or a plain folder path. */
export function parseLakeUrl(url: string, env: Env): Record<string, unknown> {
  if (url.startsWith('s3://')) {
    const rest = url.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
    const accessKeyId = env.AWS_ACCESS_KEY_ID;
    return {
      kind: 's3',
      bucket,
      prefix,
      region: env.AWS_REGION ?? env.S3_REGION,
      endpoint: env.S3_ENDPOINT || undefined,
      forcePathStyle: bool(env.S3_FORCE_PATH_STYLE) ?? (env.S3_ENDPOINT ? true : undefined),
      credentials: accessKeyId
        ? { accessKeyId, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
        : undefined,
    };
  }
  if (url.startsWith('file://')) return { kind: 'local', root: decodeURIComponent(new URL(url).pathname) };
  return { kind: 'local', root: url };
}

export function loadLoaderConfig(env: Env): LoaderConfig {
  return buildConfig(
    'warehouse-loader',
    loaderConfigSchema,
    (e) => ({
      kafka: readKafkaEnv(e, 'sluice-warehouse-loader'),
      registry: readRegistryEnv(e),
      observability: readObservabilityEnv(e),
      lake: parseLakeUrl(e.LAKE_URL || '.local/lake', e),
      format: e.LAKE_FORMAT || undefined,
      groupId: e.LOADER_GROUP_ID || undefined,
      flush: { maxEvents: num(e.LOADER_FLUSH_EVENTS), intervalMs: num(e.LOADER_FLUSH_MS) },
      partitionsConcurrently: num(e.LOADER_PARTITIONS_CONCURRENTLY),
      flushConcurrency: num(e.LOADER_FLUSH_CONCURRENCY),
      workers: num(e.LOADER_WORKERS),
      maxBufferedEvents: num(e.LOADER_MAX_BUFFERED_EVENTS),
      maxBytesPerPartition: num(e.LOADER_MAX_BYTES_PER_PARTITION),
      identity: bool(e.LOADER_IDENTITY),
      compactEveryMs: num(e.LOADER_COMPACT_EVERY_MS),
      snowflake: e.SNOWFLAKE_ACCOUNT
        ? {
            account: e.SNOWFLAKE_ACCOUNT,
            username: e.SNOWFLAKE_USER,
            password: e.SNOWFLAKE_PASSWORD,
            database: e.SNOWFLAKE_DATABASE,
            schema: e.SNOWFLAKE_SCHEMA || undefined,
            warehouse: e.SNOWFLAKE_WAREHOUSE,
            role: e.SNOWFLAKE_ROLE,
            accessUrl: e.SNOWFLAKE_ACCESS_URL || undefined,
            stage: e.SNOWFLAKE_STAGE || undefined,
          }
        : undefined,
      databricks: e.DATABRICKS_HOST
        ? {
            host: e.DATABRICKS_HOST,
            httpPath: e.DATABRICKS_HTTP_PATH,
            token: e.DATABRICKS_TOKEN,
            catalog: e.DATABRICKS_CATALOG,
            schema: e.DATABRICKS_SCHEMA || undefined,
            volume: e.DATABRICKS_VOLUME,
          }
        : undefined,
      testCommitDelayMs: num(e.SLUICE_TEST_COMMIT_DELAY_MS),
    }),
    env,
  );
}
