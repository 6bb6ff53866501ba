import type { SchemaElement, ColumnSource } from 'hyparquet-writer';
import { hyparquet, hyparquetWriter } from './esm';
import { parseTimestamp } from './schema';
import { ColumnType, Row, Scalar, TableSchema } from './types';

/** Per-file column statistics, in the shape Delta's `add.stats` wants. */
export interface FileStats {
  numRecords: number;
  minValues: Record<string, number | string>;
  maxValues: Record<string, number | string>;
  nullCount: Record<string, number>;
}

export interface ParquetFile {
  bytes: Uint8Array;
  stats: FileStats;
}

export interface ParquetWriteSettings {
  /** Rows per row group (default 100,000). */
  rowGroupSize?: number;
  /** Longest string kept as a min/max statistic; longer values drop the column's min/max. */
  maxStatStringLength?: number;
  /**
   * Min/max/null-count statistics in the file's footer too (default true). A Delta data file
   * carries the same figures in its `add.stats`, which Delta readers skip files by, so Delta
   * tables leave them out: computing them again cost about a tenth of the write's CPU.
   */
  footerStatistics?: boolean;
}

const SCHEMA_ELEMENT: Record<ColumnType, Omit<SchemaElement, 'name'>> = {
  boolean: { type: 'BOOLEAN', repetition_type: 'OPTIONAL' },
  int: { type: 'INT64', repetition_type: 'OPTIONAL' },
  float: { type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  string: { type: 'BYTE_ARRAY', converted_type: 'UTF8', logical_type: { type: 'STRING' }, repetition_type: 'OPTIONAL' },
  timestamp: {
    type: 'INT64',
    converted_type: 'TIMESTAMP_MICROS',
    logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' },
    repetition_type: 'OPTIONAL',
  },
};

/**
 * Writes rows as one Parquet file (snappy) with every column of `schema`, in
 * schema order: string → UTF8, int → INT64, float → DOUBLE, boolean → BOOLEAN,
 * timestamp → INT64 TIMESTAMP(MICROS, UTC). Values must already be coerced to
 * the schema (see evolveSchema); missing values are written as NULL.
 */
export function writeParquet(
  schema: TableSchema,
  rows: readonly Row[],
  settings: ParquetWriteSettings = {},
): ParquetFile {
  const n = rows.length;
  const maxStat = settings.maxStatStringLength ?? 64;
  const columns = Object.keys(schema);
  const columnData: ColumnSource[] = [];
  const parquetSchema: SchemaElement[] = [{ name: 'root', num_children: columns.length }];
  const stats: FileStats = { numRecords: n, minValues: {}, maxValues: {}, nullCount: {} };

  for (const column of columns) {
    const type = schema[column]!;
    parquetSchema.push({ name: column, ...SCHEMA_ELEMENT[type] });
    let nulls = 0;
    let data: unknown[];
    switch (type) {
      case 'int': {
        const out = new Array<bigint | null>(n);
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < n; i++) {
          const v = rows[i]![column];
          if (typeof v === 'number') {
            out[i] = BigInt(v);
            if (v < min) min = v;
            if (v > max) max = v;
          } else {
            out[i] = null;
            nulls++;
          }
        }
        if (nulls < n) {
          stats.minValues[column] = min;
          stats.maxValues[column] = max;
        }
        data = out;
        break;
      }
      case 'float': {
        const out = new Array<number | null>(n);
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < n; i++) {
          const v = rows[i]![column];
          if (typeof v === 'number') {
            out[i] = v;
            if (v < min) min = v;
            if (v > max) max = v;
          } else {
            out[i] = null;
            nulls++;
          }
        }
        if (nulls < n) {
          stats.minValues[column] = min;
          stats.maxValues[column] = max;
        }
        data = out;
        break;
      }
      case 'boolean': {
        const out = new Array<boolean | null>(n);
        for (let i = 0; i < n; i++) {
          const v = rows[i]![column];
          if (typeof v === 'boolean') out[i] = v;
          else {
            out[i] = null;
            nulls++;
          }
        }
        data = out;
        break;
      }
      case 'timestamp': {
        const out = new Array<bigint | null>(n);
        let min = Infinity;
        let max = -Infinity;
        for (let i = 0; i < n; i++) {
          const v = rows[i]![column];
          const ms = typeof v === 'string' ? parseTimestamp(v) : undefined;
          if (ms !== undefined) {
            // One BigInt per value, not two, while the microseconds are an exact double (to year 2255).
            const micros = ms * 1000;
            out[i] = Number.isSafeInteger(micros) ? BigInt(micros) : BigInt(ms) * 1000n;
            if (ms < min) min = ms;
            if (ms > max) max = ms;
          } else {
            out[i] = null;
            nulls++;
          }
        }
        if (nulls < n) {
          stats.minValues[column] = new Date(min).toISOString();
          stats.maxValues[column] = new Date(max).toISOString();
        }
        data = out;
        break;
      }
      case 'string': {
        const out = new Array<string | null>(n);
        let min: string | undefined;
        let max: string | undefined;
        let statsOk = true;
        for (let i = 0; i < n; i++) {
          const v: Scalar | undefined = rows[i]![column];
          if (v === null || v === undefined) {
            out[i] = null;
            nulls++;
            continue;
          }
          const s = typeof v === 'string' ? v : String(v);
          out[i] = s;
          if (statsOk) {
            if (s.length > maxStat) statsOk = false;
            else {
              if (min === undefined || s < min) min = s;
              if (max === undefined || s > max) max = s;
            }
          }
        }
        if (statsOk && min !== undefined && max !== undefined) {
          stats.minValues[column] = min;
          stats.maxValues[column] = max;
        }
        data = out;
        break;
      }
    }
    stats.nullCount[column] = nulls;
    columnData.push({ name: column, data: data as ColumnSource['data'] });
  }

  const buffer = hyparquetWriter().parquetWriteBuffer({
    columnData,
    schema: parquetSchema,
    rowGroupSize: settings.rowGroupSize ?? 100_000,
    statisticsTruncateLength: 64,
    statistics: settings.footerStatistics ?? true,
    createdBy: 'sluice-lake',
  });
  return { bytes: new Uint8Array(buffer), stats };
}

/** Reads a Parquet file back into rows (bigint → number, timestamps → ISO strings). */
export async function readParquet(bytes: Uint8Array): Promise<Row[]> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const objects = (await hyparquet().parquetReadObjects({ file: buffer, utf8: true })) as Record<string, unknown>[];
  return objects.map((object) => {
    const row: Row = {};
    for (const key of Object.keys(object)) {
      const v = object[key];
      if (v === null || v === undefined) continue;
      if (typeof v === 'bigint') row[key] = Number(v);
      // hyparquet may run in another realm (see esm.ts): no instanceof Date.
      else if (Object.prototype.toString.call(v) === '[object Date]') row[key] = (v as Date).toISOString();
      else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') row[key] = v;
      else row[key] = JSON.stringify(v);
    }
    return row;
  });
}
