import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalFolderStore, ParquetSink, WarehouseEvent } from '../src';
import { runPython } from './support/python';

jest.setTimeout(120_000);

const DUCK = `
import sys, json, duckdb
root = sys.argv[1]
con = duckdb.connect()
out = {}
for table in ["tracks", "order_completed", "discards"]:
    rel = f"read_parquet('{root}/{table}/*/*.parquet', hive_partitioning = true, union_by_name = true)"
    out[table] = {
        "rows": con.execute(f"select count(*) from {rel}").fetchone()[0],
        "dates": [r[0] for r in con.execute(f"select distinct received_date::varchar from {rel} order by 1").fetchall()],
        "types": dict(con.execute(f"select column_name, column_type from (describe select * from {rel})").fetchall()),
    }
out["m2"] = con.execute(f"select qty, size from read_parquet('{root}/order_completed/*/*.parquet', hive_partitioning = true, union_by_name = true) where id = 'm-2'").fetchone()
print(json.dumps(out, default=str))
`;

function ev(i: number, day: string, properties: Record<string, unknown>): WarehouseEvent {
  return {
    type: 'track',
    event: 'Order Completed',
    messageId: `m-${i}`,
    userId: 'u',
    receivedAt: `${day}T10:00:00.000Z`,
    properties,
  };
}

describe('Parquet sink (received_date partitions) read by DuckDB', () => {
  it('writes partitioned files, evolves types, and ignores a replayed batch', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-sink-it-'));
    try {
      const sink = new ParquetSink(new LocalFolderStore(dir), { root: 'pq' });
      const uuidTs = '2026-11-22T12:00:00.000Z';
      const first = await sink.writeEvents(
        [ev(1, '2026-11-21', { qty: 1, size: 'M' }), ev(2, '2026-11-22', { qty: 2, size: 'L' })],
        { appId: 'loader/0', version: 7, uuidTs },
      );
      expect(first).toMatchObject({ status: 'ok', existed: [] });
      expect(first.created).toContain(
        'pq/order_completed/received_date=2026-11-21/loader_0-00000000000000000007.parquet',
      );
      const replay = await sink.writeEvents(
        [ev(1, '2026-11-21', { qty: 1, size: 'M' }), ev(2, '2026-11-22', { qty: 2, size: 'L' })],
        { appId: 'loader/0', version: 7, uuidTs },
      );
      expect(replay.created).toEqual([]);
      const second = await sink.writeEvents(
        [ev(3, '2026-11-22', { qty: 2.5, size: 'S' }), ev(4, '2026-11-22', { qty: 'many' })],
        { appId: 'loader/0', version: 8, uuidTs },
      );
      expect(second).toMatchObject({ status: 'ok', discards: 1 });

      const out = await runPython<
        Record<string, { rows: number; dates: string[]; types: Record<string, string> }> & { m2: [number, string] }
      >(DUCK, [path.join(dir, 'pq')]);
      expect(out.tracks).toMatchObject({ rows: 4, dates: ['2026-11-21', '2026-11-22'] });
      expect(out.order_completed!.rows).toBe(4);
      expect(out.order_completed!.types).toMatchObject({
        qty: 'DOUBLE',
        size: 'VARCHAR',
        received_at: 'TIMESTAMP WITH TIME ZONE',
      });
      expect(out.discards!.rows).toBe(1);
      expect(out.m2).toEqual([2, 'L']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
