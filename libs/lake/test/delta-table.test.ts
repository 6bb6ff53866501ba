import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DeltaLake, DeltaTable, LocalFolderStore, readParquet, Row } from '../src';

const uuidTs = '2026-11-22T03:00:00.000Z';

function rows(from: number, count: number, extra: (i: number) => Row = () => ({})): Row[] {
  return Array.from({ length: count }, (_, k) => ({
    id: `r-${from + k}`,
    received_at: '2026-11-22T01:00:00.000Z',
    n: from + k,
    ...extra(from + k),
  }));
}

async function liveRows(table: DeltaTable): Promise<Row[]> {
  const state = await table.state();
  const out: Row[] = [];
  for (const add of state.files.values())
    out.push(...(await readParquet((await table.store.get(`${table.path}/${add.path}`))!)));
  return out;
}

describe('DeltaTable on a local folder', () => {
  let dir: string;
  let store: LocalFolderStore;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-delta-'));
    store = new LocalFolderStore(dir);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('commits version 0 with protocol and metaData, then skips a replayed txn version', async () => {
    const table = new DeltaTable(store, 'lake/t');
    const first = await table.commitBatch({ appId: 'a', version: 5, rows: rows(0, 3), uuidTs });
    expect(first).toMatchObject({ status: 'committed', version: 0, rows: 3, filesAdded: 1 });
    const log = fs
      .readFileSync(path.join(dir, 'lake/t/_delta_log/00000000000000000000.json'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((a) => Object.keys(a)[0])).toEqual(['commitInfo', 'protocol', 'metaData', 'add', 'txn']);
    expect(await table.commitBatch({ appId: 'a', version: 5, rows: rows(0, 3), uuidTs })).toMatchObject({
      status: 'skipped',
      appliedVersion: 5,
    });
    expect(await table.commitBatch({ appId: 'a', version: 4, rows: rows(0, 3), uuidTs })).toMatchObject({
      status: 'skipped',
    });
    // a fresh reader sees the same
    const other = new DeltaTable(store, 'lake/t');
    expect(await other.commitBatch({ appId: 'a', version: 5, rows: rows(0, 3), uuidTs })).toMatchObject({
      status: 'skipped',
    });
    expect(await other.commitBatch({ appId: 'b', version: 1, rows: rows(3, 2), uuidTs })).toMatchObject({
      status: 'committed',
      version: 1,
    });
    expect((await liveRows(table)).map((r) => r.id).sort()).toEqual(['r-0', 'r-1', 'r-2', 'r-3', 'r-4']);
    expect(Object.fromEntries((await table.state()).txns)).toEqual({ a: 5, b: 1 });
  });

  it('evolves the schema with a new metaData and rewrites files when an int column widens', async () => {
    const table = new DeltaTable(store, 't');
    await table.commitBatch({ appId: 'a', version: 1, rows: rows(0, 2), uuidTs });
    const added = await table.commitBatch({
      appId: 'a',
      version: 2,
      rows: rows(2, 1, () => ({ color: 'red' })),
      uuidTs,
    });
    expect(added).toMatchObject({
      status: 'committed',
      schemaChanges: [{ kind: 'add', column: 'color', type: 'string' }],
      filesRemoved: 0,
    });
    const widened = await table.commitBatch({ appId: 'a', version: 3, rows: [{ id: 'w', n: 2.5 }], uuidTs });
    expect(widened).toMatchObject({
      status: 'committed',
      schemaChanges: [{ kind: 'widen', column: 'n' }],
      filesRemoved: 2,
    });
    const state = await table.state();
    expect(state.schema).toEqual({ id: 'string', received_at: 'timestamp', n: 'float', color: 'string' });
    expect(state.files.size).toBe(1);
    const all = await liveRows(table);
    expect(all.map((r) => [r.id, r.n]).sort()).toEqual([
      ['r-0', 0],
      ['r-1', 1],
      ['r-2', 2],
      ['w', 2.5],
    ]);
    const bad = await table.commitBatch({ appId: 'a', version: 4, rows: [{ id: 'x', n: 'lots' }], uuidTs });
    expect(bad).toMatchObject({
      status: 'committed',
      discards: [{ table_name: 't', row_id: 'x', column_name: 'n', column_value: 'lots' }],
    });
  });

  it('keeps every commit of two writers racing on one table', async () => {
    const a = new DeltaTable(store, 'race');
    const b = new DeltaTable(store, 'race');
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => [
        a.commitBatch({ appId: `writer-a-${i}`, version: 1, rows: rows(i * 10, 10), uuidTs }),
        b.commitBatch({ appId: `writer-b-${i}`, version: 1, rows: rows(1000 + i * 10, 10), uuidTs }),
      ]).flat(),
    );
    expect(outcomes.every((o) => o.status === 'committed')).toBe(true);
    const versions = outcomes.map((o) => (o.status === 'committed' ? o.version : -1)).sort((x, y) => x - y);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const ids = (await liveRows(a)).map((r) => r.id);
    expect(ids).toHaveLength(200);
    expect(new Set(ids).size).toBe(200);
  });

  it("applies one writer's sequential batches in order while another writer races", async () => {
    const a = new DeltaTable(store, 'seq');
    const b = new DeltaTable(store, 'seq');
    const run = async (table: DeltaTable, appId: string, base: number) => {
      for (let v = 1; v <= 10; v++) {
        const out = await table.commitBatch({ appId, version: v, rows: rows(base + v * 10, 10), uuidTs });
        expect(out.status).toBe('committed');
      }
    };
    await Promise.all([run(a, 'a', 0), run(b, 'b', 10_000)]);
    const state = await new DeltaTable(store, 'seq').state();
    expect(state.version).toBe(19);
    expect(Object.fromEntries(state.txns)).toEqual({ a: 10, b: 10 });
    expect(new Set((await liveRows(a)).map((r) => r.id)).size).toBe(200);
  });

  it('keeps one row per user in a merge table', async () => {
    const lake = new DeltaLake(store);
    const identify = (userId: string, receivedAt: string, traits: Record<string, unknown>, messageId: string) => ({
      type: 'identify',
      messageId,
      userId,
      receivedAt,
      traits,
    });
    await lake.writeEvents(
      [
        identify('u1', '2026-11-22T01:00:00Z', { plan: 'free', email: 'a@x' }, 'm1'),
        identify('u2', '2026-11-22T01:00:00Z', { plan: 'pro' }, 'm2'),
      ],
      { appId: 'l', version: 1, uuidTs },
    );
    const out = await lake.writeEvents(
      [
        identify('u1', '2026-11-22T02:00:00Z', { plan: 'pro' }, 'm3'),
        identify('u3', '2026-11-22T02:00:00Z', { plan: 'team' }, 'm4'),
      ],
      { appId: 'l', version: 2, uuidTs },
    );
    expect(out.tables.users).toMatchObject({ status: 'committed', filesRemoved: 1 });
    const users = (await liveRows(lake.table('users'))).sort((x, y) => String(x.id).localeCompare(String(y.id)));
    expect(users.map((u) => [u.id, u.plan, u.email ?? null])).toEqual([
      ['u1', 'pro', 'a@x'],
      ['u2', 'pro', null],
      ['u3', 'team', null],
    ]);
    expect((await liveRows(lake.table('identifies'))).length).toBe(4);
  });

  it('sends mapping and coercion discards to the discards table', async () => {
    const lake = new DeltaLake(store, { root: 'wh' });
    await lake.writeEvents([{ type: 'track', event: 'E', messageId: 'a', properties: { qty: 1 } }], {
      appId: 'l',
      version: 1,
      uuidTs,
    });
    const out = await lake.writeEvents(
      [{ type: 'track', event: 'E', messageId: 'b', properties: { qty: 'many', id: 'clash' } }],
      { appId: 'l', version: 2, uuidTs },
    );
    expect(out.status).toBe('ok');
    expect(out.discards).toBe(2);
    const discards = await liveRows(lake.table('discards'));
    expect(discards.map((d) => [d.table_name, d.row_id, d.column_name, d.column_value]).sort()).toEqual([
      ['e', 'b', 'id', 'clash'],
      ['e', 'b', 'qty', 'many'],
    ]);
    // replaying the batch adds nothing anywhere
    const replay = await lake.writeEvents(
      [{ type: 'track', event: 'E', messageId: 'b', properties: { qty: 'many', id: 'clash' } }],
      { appId: 'l', version: 2, uuidTs },
    );
    expect(Object.values(replay.tables).every((o) => o.status === 'skipped')).toBe(true);
    expect(await liveRows(lake.table('discards'))).toHaveLength(2);
  });
});

describe('discards table types', () => {
  it('keeps column_value a string even when the first discarded value looks like a timestamp', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-delta-'));
    try {
      const lake = new DeltaLake(new LocalFolderStore(dir));
      await lake.writeEvents([{ type: 'track', event: 'E', messageId: 'a', properties: { n: 1 } }], {
        appId: 'l',
        version: 1,
        uuidTs,
      });
      await lake.writeEvents(
        [{ type: 'track', event: 'E', messageId: 'b', properties: { n: '2026-11-22T01:00:00Z' } }],
        { appId: 'l', version: 2, uuidTs },
      );
      const out = await lake.writeEvents([{ type: 'track', event: 'E', messageId: 'c', properties: { n: 'text' } }], {
        appId: 'l',
        version: 3,
        uuidTs,
      });
      expect(out.tables.discards).toMatchObject({ status: 'committed', discards: [] });
      expect((await lake.table('discards').state()).schema).toEqual({
        table_name: 'string',
        row_id: 'string',
        column_name: 'string',
        column_value: 'string',
        received_at: 'timestamp',
        uuid_ts: 'timestamp',
        reason: 'string',
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a batch that fails on one table', () => {
  it('commits its discards only when the retry has every table', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-delta-'));
    try {
      const inner = new LocalFolderStore(dir);
      let failTable: string | undefined = 'b';
      const flaky = {
        url: inner.url,
        get: (k: string) => inner.get(k),
        list: (p: string) => inner.list(p),
        delete: (k: string) => inner.delete(k),
        put: (k: string, v: Uint8Array) => inner.put(k, v),
        putIfAbsent: async (k: string, v: Uint8Array) => {
          if (failTable && k.startsWith(`${failTable}/_delta_log/`)) {
            throw Object.assign(new Error('store unavailable'), { retriable: true });
          }
          return inner.putIfAbsent(k, v);
        },
      };
      await new DeltaLake(inner).writeEvents(
        [
          { type: 'track', event: 'A', messageId: 'a0', properties: { n: 1 } },
          { type: 'track', event: 'B', messageId: 'b0', properties: { n: 1 } },
        ],
        { appId: 'l', version: 1, uuidTs },
      );
      const events = [
        { type: 'track', event: 'A', messageId: 'a1', properties: { n: 'bad-a' } },
        { type: 'track', event: 'B', messageId: 'b1', properties: { n: 'bad-b' } },
      ];
      const failed = await new DeltaLake(flaky).writeEvents(events, { appId: 'l', version: 2, uuidTs });
      expect(failed).toMatchObject({ status: 'failed', retriable: true });
      expect(failed.tables.a).toMatchObject({ status: 'committed' });
      expect(failed.tables.discards).toBeUndefined();
      failTable = undefined;
      const retry = await new DeltaLake(flaky).writeEvents(events, { appId: 'l', version: 2, uuidTs });
      expect(retry.status).toBe('ok');
      expect(retry.tables.a).toMatchObject({ status: 'skipped' });
      expect(retry.tables.b).toMatchObject({ status: 'committed' });
      const discards = await liveRows(new DeltaLake(inner).table('discards'));
      expect(discards.map((d) => d.column_value).sort()).toEqual(['bad-a', 'bad-b']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('checkpoints', () => {
  it('writes a Parquet checkpoint every N commits and reads the table from it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-delta-'));
    try {
      const store = new LocalFolderStore(dir);
      const table = new DeltaTable(store, 't', { checkpointInterval: 5 });
      const outcomes = [];
      for (let v = 1; v <= 12; v++) {
        outcomes.push(
          await table.commitBatch({
            appId: 'a',
            version: v,
            rows: rows(v * 10, 2, (i): Row => (v > 6 ? { extra: `x${i}` } : {})),
            uuidTs,
          }),
        );
      }
      expect(outcomes.map((o) => (o.status === 'committed' ? (o.checkpoint ?? '-') : o.status))).toEqual([
        '-',
        '-',
        '-',
        '-',
        '-',
        'written',
        '-',
        '-',
        '-',
        '-',
        'written',
        '-',
      ]);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 't/_delta_log/_last_checkpoint'), 'utf8'))).toEqual({
        version: 10,
        size: 1 + 1 + 1 + 11,
      });
      // Without the commits before the checkpoint, a new reader still has everything.
      for (let v = 0; v <= 10; v++) fs.rmSync(path.join(dir, `t/_delta_log/${String(v).padStart(20, '0')}.json`));
      const fresh = new DeltaTable(store, 't');
      const state = await fresh.state();
      expect(state.version).toBe(11);
      expect(state.schema).toEqual({ id: 'string', received_at: 'timestamp', n: 'int', extra: 'string' });
      expect(Object.fromEntries(state.txns)).toEqual({ a: 12 });
      expect(state.files.size).toBe(12);
      expect(await fresh.commitBatch({ appId: 'a', version: 12, rows: rows(0, 1), uuidTs })).toMatchObject({
        status: 'skipped',
      });
      expect((await liveRows(fresh)).length).toBe(24);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
