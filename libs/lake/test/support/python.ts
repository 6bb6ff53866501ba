import { execFile } from 'node:child_process';
import path from 'node:path';

export const PYTHON = process.env.SLUICE_PYTHON ?? 'python3';

export interface TableReport {
  version: number;
  history: number;
  schema: Record<string, string>;
  rows: number;
  distinct_ids?: number;
  by_id?: Record<string, Record<string, unknown>>;
  duckdb_rows: number;
  duckdb_types?: Record<string, string>;
  txn: Record<string, number | null>;
}

export interface ReadArgs {
  tables: { uri: string; ids?: string[]; txn_apps?: string[] }[];
  storage_options?: Record<string, string>;
  s3?: { endpoint: string; bucket: string; key: string; secret: string; region: string };
}

/** Reads Delta tables with delta-rs and DuckDB in Python (independent of Sluice's own reader). */
export function readDelta(args: ReadArgs): Promise<Record<string, TableReport>> {
  const script = path.join(__dirname, 'read_delta.py');
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [script, JSON.stringify(args)], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${PYTHON} read_delta.py failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as Record<string, TableReport>);
    });
  });
}

/** pyarrow type names → Sluice column types, for comparisons. */
export function sluiceType(arrowType: string): string {
  if (arrowType === 'string' || arrowType === 'large_string' || arrowType === 'string_view') return 'string';
  if (arrowType === 'int64') return 'int';
  if (arrowType === 'double') return 'float';
  if (arrowType === 'bool') return 'boolean';
  if (arrowType.startsWith('timestamp[us')) return 'timestamp';
  return arrowType;
}

/** Runs a Python snippet (argv[1..] = args) and parses its JSON output. */
export function runPython<T>(code: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', code, ...args], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${PYTHON} failed: ${stderr || error.message}`));
      else resolve(JSON.parse(stdout) as T);
    });
  });
}
