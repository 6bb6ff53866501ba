import type { ColumnType, TableSchema } from '@sluice/lake';

/** Snowflake stores unquoted names upper-case; Sluice quotes upper-cased names (RudderStack's layout). */
export function sfIdent(name: string): string {
  return `"${name.toUpperCase().replace(/"/g, '""')}"`;
}

export function sfString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

const SF_TYPES: Record<ColumnType, string> = {
  boolean: 'BOOLEAN',
  int: 'NUMBER(38,0)',
  float: 'FLOAT',
  timestamp: 'TIMESTAMP_TZ',
  string: 'VARCHAR',
};

export function sfType(type: ColumnType): string {
  return SF_TYPES[type];
}

export interface SnowflakeTarget {
  database: string;
  schema: string;
}

export function sfTable(target: SnowflakeTarget, table: string): string {
  return `${sfIdent(target.database)}.${sfIdent(target.schema)}.${sfIdent(table)}`;
}

export function sfCreateTable(target: SnowflakeTarget, table: string, schema: TableSchema): string {
  const cols = Object.entries(schema).map(([c, t]) => `${sfIdent(c)} ${sfType(t)}`);
  return `CREATE TABLE IF NOT EXISTS ${sfTable(target, table)} (${cols.join(', ')})`;
}

/** One ALTER per column the warehouse table lacks (names compared case-insensitively). */
export function sfAddColumns(
  target: SnowflakeTarget,
  table: string,
  existing: readonly string[],
  schema: TableSchema,
): string[] {
  const have = new Set(existing.map((c) => c.toUpperCase()));
  return Object.entries(schema)
    .filter(([c]) => !have.has(c.toUpperCase()))
    .map(([c, t]) => `ALTER TABLE ${sfTable(target, table)} ADD COLUMN ${sfIdent(c)} ${sfType(t)}`);
}

/** int → float widening in the lake: Snowflake NUMBER(38,0) cannot hold fractions, so the column type changes. */
export function sfWidenToFloat(target: SnowflakeTarget, table: string, column: string): string {
  return `ALTER TABLE ${sfTable(target, table)} ALTER COLUMN ${sfIdent(column)} SET DATA TYPE FLOAT`;
}

const SF_INTEGER_TYPES = new Set(['NUMBER', 'DECIMAL', 'NUMERIC', 'INT', 'INTEGER', 'BIGINT', 'SMALLINT', 'TINYINT']);

/**
 * The ALTERs for lake columns that became float while the warehouse column is
 * still an integer NUMBER (a COPY of fractions into it would round them).
 */
export function sfWidenings(
  target: SnowflakeTarget,
  table: string,
  existing: readonly { name: string; type: string }[],
  schema: TableSchema,
): string[] {
  const types = new Map(existing.map((c) => [c.name.toUpperCase(), c.type.toUpperCase().replace(/\(.*$/, '')]));
  return Object.entries(schema)
    .filter(([c, t]) => t === 'float' && SF_INTEGER_TYPES.has(types.get(c.toUpperCase()) ?? ''))
    .map(([c]) => sfWidenToFloat(target, table, c));
}

export const LOAD_HISTORY_TABLE = '_sluice_load_history';

/** The warehouse's memory of applied batches, the Snowflake twin of the Delta txn. */
export function sfCreateLoadHistory(target: SnowflakeTarget): string {
  return `CREATE TABLE IF NOT EXISTS ${sfTable(target, LOAD_HISTORY_TABLE)} (${sfIdent('app_id')} VARCHAR, ${sfIdent('table_name')} VARCHAR, ${sfIdent('version')} NUMBER(38,0), ${sfIdent('rows')} NUMBER(38,0), ${sfIdent('loaded_at')} TIMESTAMP_TZ)`;
}

/** Returns a row when (appId, table) already holds `version` or later: the batch is skipped. */
export function sfLoadedCheck(target: SnowflakeTarget, table: string, appId: string, version: number): string {
  return `SELECT MAX(${sfIdent('version')}) AS ${sfIdent('version')} FROM ${sfTable(target, LOAD_HISTORY_TABLE)} WHERE ${sfIdent('app_id')} = ${sfString(appId)} AND ${sfIdent('table_name')} = ${sfString(table)} HAVING MAX(${sfIdent('version')}) >= ${version}`;
}

/** The highest version (appId, table) holds, one row with NULL when none: rows at or below it are in the table. */
export function sfLoadedVersion(target: SnowflakeTarget, table: string, appId: string): string {
  return `SELECT MAX(${sfIdent('version')}) AS ${sfIdent('version')} FROM ${sfTable(target, LOAD_HISTORY_TABLE)} WHERE ${sfIdent('app_id')} = ${sfString(appId)} AND ${sfIdent('table_name')} = ${sfString(table)}`;
}

export function sfRecordLoad(
  target: SnowflakeTarget,
  table: string,
  appId: string,
  version: number,
  rows: number,
): string {
  return `INSERT INTO ${sfTable(target, LOAD_HISTORY_TABLE)} (${['app_id', 'table_name', 'version', 'rows', 'loaded_at'].map(sfIdent).join(', ')}) SELECT ${sfString(appId)}, ${sfString(table)}, ${version}, ${rows}, CURRENT_TIMESTAMP()`;
}

export function sfCreateStage(target: SnowflakeTarget, stage: string): string {
  return `CREATE STAGE IF NOT EXISTS ${sfTable(target, stage)} FILE_FORMAT = (TYPE = PARQUET)`;
}

function sfStage(target: SnowflakeTarget, stage: string, folder: string): string {
  return `@${sfIdent(target.database)}.${sfIdent(target.schema)}.${sfIdent(stage)}/${folder}`;
}

/** Uploads a local Parquet file to the internal stage (snowflake-sdk/connector PUT). */
export function sfPut(target: SnowflakeTarget, stage: string, localPath: string, folder: string): string {
  return `PUT ${sfString(`file://${localPath}`)} ${sfStage(target, stage, folder)} AUTO_COMPRESS = FALSE OVERWRITE = TRUE`;
}

/** Loads a staged Parquet file by column name (lake columns are snake_case; Snowflake's upper-case match case-insensitively). */
export function sfCopyInto(target: SnowflakeTarget, table: string, stage: string, folder: string): string {
  return `COPY INTO ${sfTable(target, table)} FROM ${sfStage(target, stage, folder)} FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE`;
}

export interface MergeSpec {
  key: string;
  orderBy: string;
  columns: readonly string[];
}

/**
 * users: one row per id. The staged rows are collapsed to the newest per key;
 * a newer row overwrites field by field, keeping old values where the new one is NULL.
 */
export function sfMerge(target: SnowflakeTarget, table: string, staging: string, spec: MergeSpec): string {
  const k = sfIdent(spec.key);
  const o = sfIdent(spec.orderBy);
  const cols = spec.columns.map(sfIdent);
  const src = `(SELECT * FROM ${sfTable(target, staging)} QUALIFY ROW_NUMBER() OVER (PARTITION BY ${k} ORDER BY ${o} DESC) = 1)`;
  const set = cols.filter((c) => c !== k).map((c) => `${c} = COALESCE(s.${c}, t.${c})`);
  return (
    `MERGE INTO ${sfTable(target, table)} t USING ${src} s ON t.${k} = s.${k} ` +
    `WHEN MATCHED AND (t.${o} IS NULL OR s.${o} >= t.${o}) THEN UPDATE SET ${set.join(', ')} ` +
    `WHEN NOT MATCHED THEN INSERT (${cols.join(', ')}) VALUES (${cols.map((c) => `s.${c}`).join(', ')})`
  );
}

export interface SnowflakeBatch {
  table: string;
  schema: TableSchema;
  /** Columns the warehouse table has now (from INFORMATION_SCHEMA); empty when it does not exist. */
  existingColumns: readonly string[];
  appId: string;
  version: number;
  rows: number;
  stage: string;
  /** Stage folder of this batch's file(s), e.g. `<table>/<appId>-<version>`. */
  folder: string;
  /** Set for `users`. */
  merge?: Omit<MergeSpec, 'columns'>;
}

/** A name for a batch's staging table, unique per (table, appId, version). */
export function sfStagingName(table: string, appId: string, version: number): string {
  const safe = appId.replace(/[^A-Za-z0-9]+/g, '_').slice(0, 60);
  return `${table}__stg_${safe}_${version}`;
}

export interface SnowflakeLoadPlan {
  /** DDL (Snowflake commits DDL implicitly, so it runs before the transaction). */
  setup: string[];
  /** PUT of the batch's Parquet file to the internal stage. */
  put: (localPath: string) => string;
  /** After the PUT, outside the transaction: fills a merge table's scratch staging table. */
  prepare: string[];
  /** The load and its history row (in one transaction for appends; a MERGE is idempotent by itself). */
  transaction: string[];
  cleanup: string[];
}

/**
 * The statements that load one table's batch. The caller first runs
 * `sfLoadedCheck` and skips the batch when it returns a row; then runs
 * `sfLoadStatements(plan, file)` in order. The load and its history row commit
 * together, so a replay after a crash either finds the history row (skip) or
 * loads the batch whole.
 */
export function sfLoadPlan(target: SnowflakeTarget, b: SnowflakeBatch): SnowflakeLoadPlan {
  const setup = [sfCreateLoadHistory(target), sfCreateStage(target, b.stage)];
  if (b.existingColumns.length === 0) setup.push(sfCreateTable(target, b.table, b.schema));
  else setup.push(...sfAddColumns(target, b.table, b.existingColumns, b.schema));
  const prepare: string[] = [];
  const cleanup: string[] = [];
  let transaction: string[];
  if (b.merge) {
    // A MERGE replayed gives the same table (the newer-or-equal row wins, field
    // by field), so it needs no transaction with its history row: a crash
    // between the two makes the replay merge again, harmlessly.
    const staging = sfStagingName(b.table, b.appId, b.version);
    setup.push(`CREATE OR REPLACE TABLE ${sfTable(target, staging)} LIKE ${sfTable(target, b.table)}`);
    prepare.push(sfCopyInto(target, staging, b.stage, b.folder));
    transaction = [
      sfMerge(target, b.table, staging, { ...b.merge, columns: Object.keys(b.schema) }),
      sfRecordLoad(target, b.table, b.appId, b.version, b.rows),
    ];
    cleanup.push(`DROP TABLE IF EXISTS ${sfTable(target, staging)}`);
  } else {
    // COPY INTO appends: it and its history row commit together.
    transaction = [
      'BEGIN',
      sfCopyInto(target, b.table, b.stage, b.folder),
      sfRecordLoad(target, b.table, b.appId, b.version, b.rows),
      'COMMIT',
    ];
  }
  return { setup, put: (p) => sfPut(target, b.stage, p, b.folder), prepare, transaction, cleanup };
}

/** Every statement of a plan in execution order, for a local Parquet file. */
export function sfLoadStatements(plan: SnowflakeLoadPlan, localPath: string): string[] {
  return [...plan.setup, plan.put(localPath), ...plan.prepare, ...plan.transaction, ...plan.cleanup];
}

/**
 * The Sluice type of a Snowflake column as INFORMATION_SCHEMA names it: Sluice creates ints as
 * NUMBER(38,0), so an exact numeric is an int (a scaled NUMBER made elsewhere would read as int too:
 * its fractions survive as floats only after widening).
 */
export function sfColumnType(dataType: string): ColumnType {
  const t = dataType.toUpperCase().replace(/\(.*$/, '').trim();
  if (SF_INTEGER_TYPES.has(t)) return 'int';
  if (['FLOAT', 'FLOAT4', 'FLOAT8', 'DOUBLE', 'DOUBLE PRECISION', 'REAL'].includes(t)) return 'float';
  if (t === 'BOOLEAN') return 'boolean';
  if (t.startsWith('TIMESTAMP') || t === 'DATETIME' || t === 'DATE') return 'timestamp';
  return 'string';
}

/** Columns a table has now, name then type (empty when it does not exist). */
export function sfColumnsQuery(target: SnowflakeTarget, table: string): string {
  return `SELECT COLUMN_NAME, DATA_TYPE FROM ${sfIdent(target.database)}.INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = ${sfString(target.schema.toUpperCase())} AND TABLE_NAME = ${sfString(table.toUpperCase())} ORDER BY ORDINAL_POSITION`;
}
