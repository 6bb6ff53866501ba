import type { TableSchema, WarehouseEvent, WriteBatchInput } from '@sluice/lake';
import type { Logger } from '@sluice/observability';
import {
  connectDatabricks,
  connectSnowflake,
  DatabricksSink,
  evolveWarehouseTables,
  mapWarehouseRows,
  SnowflakeSink,
  WarehouseLoadError,
  WarehouseSink,
} from '@sluice/warehouse';
import type { LoaderConfig } from './config';
import type { LakeSink, SinkOutcome } from './lake-sink';

/**
 * The lake first, then each configured warehouse, all before the flush
 * reports success, so the Kafka offset is committed only once the batch is
 * durable everywhere (decision 0703). A warehouse failure fails the batch: the
 * loader keeps it and retries it whole, the lake skips it by its txn, and each
 * warehouse skips or trims it by its load history.
 */
export class WarehouseStage implements LakeSink {
  /** Schemas as evolved for each warehouse (the lake keeps its own). */
  private readonly schemas = new Map<string, Map<string, TableSchema>>();

  constructor(
    private readonly lake: LakeSink,
    private readonly warehouses: readonly WarehouseSink[],
    private readonly log: Logger,
  ) {}

  async write(events: readonly WarehouseEvent[], input: WriteBatchInput): Promise<SinkOutcome> {
    const lake = await this.lake.write(events, input);
    if (lake.status === 'failed') return lake;
    if (this.warehouses.length === 0) return lake;
    const rows = { ...lake.rows };
    const mapped = mapWarehouseRows(events, input);
    for (const w of this.warehouses) {
      let schemas = this.schemas.get(w.name);
      if (!schemas) this.schemas.set(w.name, (schemas = new Map()));
      // A table first seen by this process starts from the warehouse's own column types, so a
      // restart does not re-infer them from one batch (a string into a NUMBER column would fail COPY).
      const unseen = [...mapped.tables.keys()].filter((t) => !schemas.has(t));
      let failure: WarehouseLoadError | undefined;
      if (unseen.length > 0) {
        const described = await w.describe(unseen);
        if (described.status === 'failed') failure = described.error;
        else for (const [table, schema] of described.schemas) schemas.set(table, schema);
      }
      const out = failure
        ? undefined
        : await w.load({
            appId: input.appId,
            version: input.version,
            tables: evolveWarehouseTables(mapped, input, schemas),
          });
      if (out) for (const [table, o] of Object.entries(out.tables)) if (o.rows > 0) rows[`${w.name}.${table}`] = o.rows;
      if (out?.status === 'failed') failure = out.error;
      if (failure) {
        const e = failure;
        this.log.error(
          {
            warehouse: e.warehouse,
            table: e.table,
            appId: e.appId,
            version: e.version,
            statement: e.statement,
            retriable: e.retriable,
            err: e.message,
          },
          'warehouse load failed',
        );
        return { ...lake, status: 'failed', retriable: e.retriable, rows, error: e.message };
      }
    }
    return { ...lake, rows };
  }

  async close(): Promise<void> {
    for (const w of this.warehouses)
      await w
        .close()
        .catch((err: unknown) =>
          this.log.warn({ warehouse: w.name, err: (err as Error).message }, 'warehouse close failed'),
        );
  }
}

/** The warehouse sinks the config asks for (none when neither SNOWFLAKE_* nor DATABRICKS_* is set). */
export function createWarehouseSinks(
  config: Pick<LoaderConfig, 'snowflake' | 'databricks'>,
  log: Logger,
): WarehouseSink[] {
  const sinks: WarehouseSink[] = [];
  const sf = config.snowflake;
  if (sf) {
    const sfLog = log.child({ warehouse: 'snowflake' });
    sinks.push(
      new SnowflakeSink({
        target: { database: sf.database, schema: sf.schema },
        stage: sf.stage,
        connect: () => connectSnowflake(sf, sfLog),
        log: sfLog,
      }),
    );
  }
  const db = config.databricks;
  if (db) {
    sinks.push(
      new DatabricksSink({
        target: { catalog: db.catalog, schema: db.schema },
        volume: db.volume,
        connect: (dir) => connectDatabricks({ host: db.host, path: db.httpPath, token: db.token }, dir),
        log: log.child({ warehouse: 'databricks' }),
      }),
    );
  }
  return sinks;
}
