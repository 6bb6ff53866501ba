import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeltaTable, LocalFolderStore, readParquet, Row } from '../src';

const uuidTs = '2026-11-22T03:00:00.000Z';
const rows = (from: number, to: number): Row[] =>
  Array.from({ length: to - from + 1 }, (_, k) => ({
    id: `r-${from + k}`,
    received_at: '2026-11-22T01:00:00.000Z',
    n: from + k,
  }));
const offsetOf = (row: Row) => Number(String(row.id).slice(2));

async function ids(table: DeltaTable): Promise<string[]> {
  const state = await table.state();
  const out: string[] = [];
  for (const add of state.files.values())
    for (const r of await readParquet((await table.store.get(`${table.path}/${add.path}`))!)) out.push(String(r.id));
  return out.sort();
}

describe('commitBatch rowVersion (overlapping ranges of one appId)', () => {
  it('drops the rows the txn already covers, so overlapping batches write each row once', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rowv-'));
    const table = new DeltaTable(new LocalFolderStore(dir), 't');
    // Writer A commits offsets 0..4; writer B, which started from the same offset, commits 0..7.
    expect(
      await table.commitBatch({ appId: 'p0', version: 4, rows: rows(0, 4), uuidTs, rowVersion: offsetOf }),
    ).toMatchObject({ status: 'committed', rows: 5 });
    const b = new DeltaTable(new LocalFolderStore(dir), 't');
    expect(
      await b.commitBatch({ appId: 'p0', version: 7, rows: rows(0, 7), uuidTs, rowVersion: offsetOf }),
    ).toMatchObject({ status: 'committed', rows: 3 });
    expect(await ids(b)).toEqual(
      rows(0, 7)
        .map((r) => String(r.id))
        .sort(),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('filters against the txn another instance committed after this one last read the table', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rowv-'));
    const a = new DeltaTable(new LocalFolderStore(dir), 't');
    const b = new DeltaTable(new LocalFolderStore(dir), 't');
    await a.commitBatch({ appId: 'other', version: 1, rows: rows(100, 100), uuidTs });
    await b.state(); // b caches version 0
    await a.commitBatch({ appId: 'p0', version: 4, rows: rows(0, 4), uuidTs, rowVersion: offsetOf });
    // b last saw version 0; a has since committed p0 up to 4: b writes 5..7 only.
    expect(
      await b.commitBatch({ appId: 'p0', version: 7, rows: rows(0, 7), uuidTs, rowVersion: offsetOf }),
    ).toMatchObject({ status: 'committed', rows: 3 });
    expect((await ids(b)).length).toBe(9);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
