import { readParquet, Row, writeParquet } from '../src';
import { hyparquet } from '../src/esm';

describe('writeParquet', () => {
  it('round-trips every type with nulls and computes Delta stats', async () => {
    const schema = { id: 'string', n: 'int', f: 'float', b: 'boolean', t: 'timestamp', empty: 'string' } as const;
    const rows: Row[] = [
      { id: 'a', n: 5, f: 1.5, b: true, t: '2026-11-22T01:00:00.123Z' },
      { id: 'b', n: -3, b: false, t: '2026-11-22T03:00:00.000Z' },
      { id: 'c', f: -2.25 },
    ];
    const file = writeParquet(schema, rows);
    expect(file.stats).toEqual({
      numRecords: 3,
      minValues: { id: 'a', n: -3, f: -2.25, t: '2026-11-22T01:00:00.123Z' },
      maxValues: { id: 'c', n: 5, f: 1.5, t: '2026-11-22T03:00:00.000Z' },
      nullCount: { id: 0, n: 1, f: 1, b: 1, t: 1, empty: 3 },
    });
    expect(await readParquet(file.bytes)).toEqual(rows);
  });

  it('writes footer min/max statistics unless told not to (Delta files carry them in add.stats)', async () => {
    const schema = { id: 'string', n: 'int' } as const;
    const rows: Row[] = [{ id: 'a', n: 5 }, { id: 'b', n: -3 }, { n: 1 }];
    const footer = (bytes: Uint8Array) => {
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      return hyparquet()
        .parquetMetadata(buffer)
        .row_groups[0]!.columns.map((c) => c.meta_data?.statistics);
    };
    const [idStats, nStats] = footer(writeParquet(schema, rows).bytes);
    expect(idStats?.null_count).toBe(1n);
    expect(nStats?.min_value).toBe(-3n);
    expect(nStats?.max_value).toBe(5n);
    const bare = writeParquet(schema, rows, { footerStatistics: false });
    expect(footer(bare.bytes)).toEqual([undefined, undefined]);
    // The Delta stats and the rows do not depend on it.
    expect(bare.stats).toEqual(writeParquet(schema, rows).stats);
    expect(await readParquet(bare.bytes)).toEqual(rows);
  });

  it('writes repeated, missing and far-future timestamps exactly', async () => {
    const shared = '2026-11-22T01:00:00.123Z';
    const rows: Row[] = [
      { t: shared },
      { t: shared },
      {},
      { t: '2026-11-22T01:00:00.123Z' },
      { t: '2300-01-01T00:00:00.001Z' },
      { t: '2026-11-22T02:00:00.000Z' },
      { t: shared },
    ];
    const file = writeParquet({ t: 'timestamp' }, rows);
    expect(await readParquet(file.bytes)).toEqual(rows);
    expect(file.stats.minValues).toEqual({ t: shared });
    expect(file.stats.maxValues).toEqual({ t: '2300-01-01T00:00:00.001Z' });
    expect(file.stats.nullCount).toEqual({ t: 1 });
  });

  it('leaves out min/max of long strings', () => {
    const file = writeParquet({ s: 'string' }, [{ s: 'x'.repeat(100) }], { maxStatStringLength: 64 });
    expect(file.stats.minValues).toEqual({});
    expect(file.stats.nullCount).toEqual({ s: 0 });
  });
});
