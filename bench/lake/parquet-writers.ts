// Compares Parquet writers on a realistic event table (one track event's table:
// ~25 columns of strings, int64, double, boolean, timestamps, with nulls).
// Every file is read back by DuckDB and pyarrow (types, row and null counts).
// Wall-clock and CPU-time (user + system of this process) figures are both printed:
// on a shared machine the CPU-time one is the steadier.
// Run: node --import tsx bench/lake/parquet-writers.ts [rows]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  tableToIPC,
  tableFromArrays,
  vectorFromArray,
  Vector,
  Bool,
  Float64,
  Int64,
  Utf8,
  TimestampMicrosecond,
  Table as ArrowTable,
} from 'apache-arrow';
import * as wasm from 'parquet-wasm';
import { evolveSchema, mapEvents, parseTimestamp, writeParquet, Row, TableSchema } from '../../libs/lake/src';
import { makeEvents } from './events';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parquetjs = require('parquetjs-lite') as {
  ParquetSchema: new (fields: Record<string, unknown>) => unknown;
  ParquetWriter: {
    openFile(
      schema: unknown,
      file: string,
      opts?: unknown,
    ): Promise<{ appendRow(r: unknown): Promise<void>; close(): Promise<void> }>;
  };
};

const ROWS = Number(process.argv[2] ?? 100_000);
const python = process.env.SLUICE_PYTHON ?? 'python3';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-pq-bench-'));

function table(): { schema: TableSchema; rows: Row[] } {
  const mapped = mapEvents(makeEvents(ROWS, { trackOnly: ['Order Completed'] }), { uuidTs: new Date().toISOString() });
  const all = mapped.tables.get('order_completed') ?? [];
  const ev = evolveSchema({}, all.slice(0, ROWS), { table: 'order_completed', uuidTs: new Date().toISOString() });
  return { schema: ev.newSchema, rows: ev.coercedRows };
}

async function viaHyparquet(schema: TableSchema, rows: Row[], file: string): Promise<void> {
  fs.writeFileSync(file, writeParquet(schema, rows).bytes);
}

function viaWasm(schema: TableSchema, rows: Row[], file: string): void {
  const cols: Record<string, Vector> = {};
  for (const [name, type] of Object.entries(schema)) {
    switch (type) {
      case 'int':
        cols[name] = vectorFromArray(
          rows.map((r) => (typeof r[name] === 'number' ? BigInt(r[name] as number) : null)),
          new Int64(),
        );
        break;
      case 'float':
        cols[name] = vectorFromArray(
          rows.map((r) => (typeof r[name] === 'number' ? (r[name] as number) : null)),
          new Float64(),
        );
        break;
      case 'boolean':
        cols[name] = vectorFromArray(
          rows.map((r) => (typeof r[name] === 'boolean' ? (r[name] as boolean) : null)),
          new Bool(),
        );
        break;
      case 'timestamp':
        cols[name] = vectorFromArray(
          rows.map((r) => (typeof r[name] === 'string' ? (parseTimestamp(r[name] as string) ?? null) : null)),
          new TimestampMicrosecond('UTC'),
        );
        break;
      default:
        cols[name] = vectorFromArray(
          rows.map((r) => (r[name] == null ? null : String(r[name]))),
          new Utf8(),
        );
    }
  }
  const arrow = new ArrowTable(cols);
  const wasmTable = wasm.Table.fromIPCStream(tableToIPC(arrow, 'stream'));
  const props = new wasm.WriterPropertiesBuilder().setCompression(wasm.Compression.SNAPPY).build();
  fs.writeFileSync(file, wasm.writeParquet(wasmTable, props));
}

async function viaParquetjs(schema: TableSchema, rows: Row[], file: string): Promise<void> {
  const fields: Record<string, unknown> = {};
  const map = {
    int: 'INT64',
    float: 'DOUBLE',
    boolean: 'BOOLEAN',
    timestamp: 'TIMESTAMP_MICROS',
    string: 'UTF8',
  } as const;
  for (const [name, type] of Object.entries(schema)) fields[name] = { type: map[type], optional: true };
  const writer = await parquetjs.ParquetWriter.openFile(new parquetjs.ParquetSchema(fields), file);
  for (const r of rows) {
    const rec: Record<string, unknown> = {};
    for (const [name, type] of Object.entries(schema)) {
      const v = r[name];
      if (v === null || v === undefined) continue;
      rec[name] = type === 'timestamp' ? new Date(v as string) : v;
    }
    await writer.appendRow(rec);
  }
  await writer.close();
}

function check(file: string, schema: TableSchema, rows: Row[]): string {
  const nullCol = Object.keys(schema).find((c) => rows.some((r) => r[c] == null)) ?? 'id';
  const script = `
import sys, json, duckdb, pyarrow.parquet as pq
f, col = sys.argv[1], sys.argv[2]
t = pq.read_table(f)
types = {fl.name: str(fl.type) for fl in t.schema}
con = duckdb.connect()
n, nulls = con.execute(f"select count(*), count(*) - count({col}) from read_parquet('{f}')").fetchone()
dtypes = dict(con.execute(f"select column_name, column_type from (describe select * from read_parquet('{f}'))").fetchall())
print(json.dumps({"rows": t.num_rows, "duck_rows": n, "nulls": nulls, "types": types, "duck_types": dtypes, "ts0": int(t.column("received_at")[0].as_py().timestamp() * 1000), "duck_ts0": int(con.execute(f"select epoch_ms(received_at) from read_parquet('{f}') limit 1").fetchone()[0])}))
`;
  const out = JSON.parse(execFileSync(python, ['-c', script, file, nullCol]).toString()) as {
    rows: number;
    duck_rows: number;
    nulls: number;
    types: Record<string, string>;
    duck_types: Record<string, string>;
    ts0: number;
    duck_ts0: number;
  };
  const expectNulls = rows.filter((r) => r[nullCol] == null).length;
  const want = {
    int: 'int64',
    float: 'double',
    boolean: 'bool',
    timestamp: 'timestamp[us, tz=UTC]',
    string: 'string',
  } as const;
  const problems: string[] = [];
  if (out.rows !== rows.length || out.duck_rows !== rows.length) problems.push(`rows ${out.rows}/${out.duck_rows}`);
  if (out.nulls !== expectNulls) problems.push(`nulls in ${nullCol}: ${out.nulls} != ${expectNulls}`);
  for (const [c, t] of Object.entries(schema)) {
    const got = out.types[c] ?? 'missing';
    if (got !== want[t] && !(t === 'string' && got === 'large_string')) problems.push(`${c}: ${got} (want ${want[t]})`);
  }
  const ts = Date.parse(rows[0]!.received_at as string);
  if (out.ts0 !== ts || out.duck_ts0 !== ts) problems.push(`received_at[0] ${out.ts0}/${out.duck_ts0} != ${ts}`);
  return problems.length === 0 ? 'ok (pyarrow + duckdb)' : `WRONG: ${problems.join('; ')}`;
}

async function main(): Promise<void> {
  const { schema, rows } = table();
  console.log(`table order_completed: ${rows.length} rows, ${Object.keys(schema).length} columns`);
  const writers: [string, (s: TableSchema, r: Row[], f: string) => Promise<void> | void][] = [
    ['hyparquet-writer', viaHyparquet],
    ['parquet-wasm+arrow', viaWasm],
    ['parquetjs-lite', viaParquetjs],
  ];
  void tableFromArrays;
  for (const [name, write] of writers) {
    const file = path.join(dir, `${name}.parquet`);
    await write(schema, rows.slice(0, 2000), file); // warm-up
    const runs: number[] = [];
    const cpuRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = process.hrtime.bigint();
      const c0 = process.cpuUsage();
      await write(schema, rows, file);
      runs.push(Number(process.hrtime.bigint() - t0) / 1e9);
      const c = process.cpuUsage(c0);
      cpuRuns.push((c.user + c.system) / 1e6);
    }
    const best = Math.min(...runs);
    const bestCpu = Math.min(...cpuRuns);
    const size = fs.statSync(file).size;
    console.log(
      `${name.padEnd(20)} ${Math.round(rows.length / best)
        .toLocaleString('en-US')
        .padStart(9)} rows/s (best of 3: ${best.toFixed(2)} s wall), ${Math.round(rows.length / bestCpu)
        .toLocaleString('en-US')
        .padStart(9)} rows per CPU-s  ${(size / 1e6).toFixed(2)} MB  ${check(file, schema, rows)}`,
    );
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

void main();
