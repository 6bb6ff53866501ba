import type { ColumnType, TableSchema } from '@sluice/lake';

export function dbIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

const DB_TYPES: Record<ColumnType, string> = {
  boolean: 'BOOLEAN',
  int: 'BIGINT',
  float: 'DOUBLE',
  timestamp: 'TIMESTAMP',
  string: 'STRING',
};

export function dbType(type: ColumnType): string {
  return DB_TYPES[type];
}

export interface DatabricksTarget {
  catalog: string;
  schema: string;
}

export function dbTable(target: DatabricksTarget, table: string): string {
  return `${dbIdent(target.catalog)}.${dbIdent(target.schema)}.${dbIdent(table)}`;
}

export function dbCreateTable(target: DatabricksTarget, table: string, schema: TableSchema): string {
  const cols = Object.entries(schema).map(([c, t]) => `${dbIdent(c)} ${dbType(t)}`);
  return `CREATE TABLE IF NOT EXISTS ${dbTable(target, table)} (${cols.join(', ')}) USING DELTA`;
}

export function dbAddColumns(
  target: DatabricksTarget,
  table: string,
  existing: readonly string[],
  schema: TableSchema,
): string | undefined {
  const have = new Set(existing.map((c) => c.toLowerCase()));
  const add = Object.entries(schema).filter(([c]) => !have.has(c.toLowerCase()));
  if (add.length === 0) return undefined;
  return `ALTER TABLE ${dbTable(target, table)} ADD COLUMNS (${add.map(([c, t]) => `${dbIdent(c)} ${dbType(t)}`).join(', ')})`;
}

function dbString(v: string): string {
  return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * COPY INTO is idempotent per file in Databricks (files already loaded are
 * skipped), so a replayed batch whose Parquet file has the same path loads nothing.
 */
export function dbCopyInto(target: DatabricksTarget, table: string, sourceUri: string): string {
  return `COPY INTO ${dbTable(target, table)} FROM ${dbString(sourceUri)} FILEFORMAT = PARQUET FORMAT_OPTIONS ('mergeSchema' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')`;
}

/** users: newest staged row per key, merged field by field (NULL keeps the old value). */
export function dbMerge(
  target: DatabricksTarget,
  table: string,
  sourceUri: string,
  key: string,
  orderBy: string,
  columns: readonly string[],
): string {
  const k = dbIdent(key);
  const o = dbIdent(orderBy);
  const cols = columns.map(dbIdent);
  const src = `(SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY ${k} ORDER BY ${o} DESC) AS _rn FROM parquet.${dbIdent(sourceUri)}) WHERE _rn = 1)`;
  const set = cols.filter((c) => c !== k).map((c) => `t.${c} = COALESCE(s.${c}, t.${c})`);
  return (
    `MERGE INTO ${dbTable(target, table)} t USING ${src} s ON t.${k} = s.${k} ` +
    `WHEN MATCHED AND (t.${o} IS NULL OR s.${o} >= t.${o}) THEN UPDATE SET ${set.join(', ')} ` +
    `WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`
  );
}

export const DB_LOAD_HISTORY_TABLE = '_sluice_load_history';

/** The load history, as on Snowflake: (app_id, table_name, version) of every applied batch. */
export function dbCreateLoadHistory(target: DatabricksTarget): string {
  return `CREATE TABLE IF NOT EXISTS ${dbTable(target, DB_LOAD_HISTORY_TABLE)} (${dbIdent('app_id')} STRING, ${dbIdent('table_name')} STRING, ${dbIdent('version')} BIGINT, ${dbIdent('rows')} BIGINT, ${dbIdent('loaded_at')} TIMESTAMP) USING DELTA`;
}

export function dbLoadedVersion(target: DatabricksTarget, table: string, appId: string): string {
  return `SELECT MAX(${dbIdent('version')}) AS ${dbIdent('version')} FROM ${dbTable(target, DB_LOAD_HISTORY_TABLE)} WHERE ${dbIdent('app_id')} = ${dbString(appId)} AND ${dbIdent('table_name')} = ${dbString(table)}`;
}

export function dbRecordLoad(
  target: DatabricksTarget,
  table: string,
  appId: string,
  version: number,
  rows: number,
): string {
  return `INSERT INTO ${dbTable(target, DB_LOAD_HISTORY_TABLE)} (${['app_id', 'table_name', 'version', 'rows', 'loaded_at'].map(dbIdent).join(', ')}) VALUES (${dbString(appId)}, ${dbString(table)}, ${version}, ${rows}, current_timestamp())`;
}

/** Columns a table has now with their types (empty when it does not exist). */
export function dbColumnTypesQuery(target: DatabricksTarget, table: string): string {
  return `SELECT column_name, data_type FROM ${dbIdent(target.catalog)}.information_schema.columns WHERE table_schema = ${dbString(target.schema.toLowerCase())} AND table_name = ${dbString(table.toLowerCase())} ORDER BY ordinal_position`;
}

/** The Sluice type of a Databricks column type. */
export function dbColumnType(dataType: string): ColumnType {
  const t = dataType.toUpperCase().replace(/\(.*$/, '').trim();
  if (['BIGINT', 'LONG', 'INT', 'INTEGER', 'SMALLINT', 'SHORT', 'TINYINT', 'BYTE'].includes(t)) return 'int';
  if (['DOUBLE', 'FLOAT', 'REAL', 'DECIMAL', 'DEC', 'NUMERIC'].includes(t)) return 'float';
  if (t === 'BOOLEAN') return 'boolean';
  if (t.startsWith('TIMESTAMP') || t === 'DATE') return 'timestamp';
  return 'string';
}

/** Columns a table has now (empty when it does not exist). */
export function dbColumnsQuery(target: DatabricksTarget, table: string): string {
  return `SELECT column_name FROM ${dbIdent(target.catalog)}.information_schema.columns WHERE table_schema = ${dbString(target.schema.toLowerCase())} AND table_name = ${dbString(table.toLowerCase())} ORDER BY ordinal_position`;
}

export interface DatabricksBatch {
  table: string;
  schema: TableSchema;
  existingColumns: readonly string[];
  appId: string;
  version: number;
  rows: number;
  /** Unity Catalog volume the files are PUT to, e.g. `/Volumes/main/sluice/staging`. */
  volume: string;
  /** Folder of this batch's file inside the volume, e.g. `<table>/<appId>-<version>`. */
  folder: string;
  merge?: { key: string; orderBy: string };
}

export interface DatabricksLoadPlan {
  setup: string[];
  /** Uploads the local Parquet file to the volume (driver staging PUT). */
  put: (localPath: string) => string;
  /** The load, then its history row. */
  load: string[];
  cleanup: string[];
}

/**
 * The statements that load one table's batch into Databricks. There is no
 * multi-statement transaction, so each step is idempotent on its own: COPY
 * INTO skips a file path it already loaded (a replay re-uploads the same path),
 * a MERGE replayed gives the same table, and the history row comes last, so a
 * crash before it only makes the replay redo idempotent work.
 */
export function dbLoadPlan(target: DatabricksTarget, b: DatabricksBatch): DatabricksLoadPlan {
  const setup: string[] = [];
  if (b.existingColumns.length === 0) setup.push(dbCreateTable(target, b.table, b.schema));
  else {
    const add = dbAddColumns(target, b.table, b.existingColumns, b.schema);
    if (add) setup.push(add);
  }
  const folder = `${b.volume.replace(/\/+$/, '')}/${b.folder}`;
  const file = `${folder}/part.parquet`;
  const load = b.merge
    ? dbMerge(target, b.table, file, b.merge.key, b.merge.orderBy, Object.keys(b.schema))
    : dbCopyInto(target, b.table, `${folder}/`);
  return {
    setup,
    put: (localPath) => `PUT ${dbString(localPath)} INTO ${dbString(file)} OVERWRITE`,
    load: [load, dbRecordLoad(target, b.table, b.appId, b.version, b.rows)],
    cleanup: [`REMOVE ${dbString(file)}`],
  };
}
