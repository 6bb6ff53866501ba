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
