/** Column types Sluice infers and writes (Parquet INT64, DOUBLE, BOOLEAN, TIMESTAMP(µs, UTC), UTF8). */
export type ColumnType = 'boolean' | 'int' | 'float' | 'timestamp' | 'string';

/** Column name → type, in column order (insertion order of the object). */
export type TableSchema = Readonly<Record<string, ColumnType>>;

/** A value a mapped row may hold before coercion: JSON scalars (arrays are already JSON strings). */
export type Scalar = string | number | boolean | null;

/** One warehouse row: column → scalar. Timestamps are ISO-8601 strings. */
export type Row = Record<string, Scalar>;

/** One row of the discards table. */
export interface DiscardRow extends Row {
  table_name: string;
  row_id: string | null;
  column_name: string;
  column_value: string | null;
  received_at: string | null;
  uuid_ts: string;
  reason: string;
}

export const DISCARDS_TABLE = 'discards';

export const DISCARDS_SCHEMA: TableSchema = {
  table_name: 'string',
  row_id: 'string',
  column_name: 'string',
  column_value: 'string',
  received_at: 'timestamp',
  uuid_ts: 'timestamp',
  reason: 'string',
};

/** Rows for one table. */
export interface TableRows {
  table: string;
  rows: Row[];
}
