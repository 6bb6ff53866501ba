// Integration scenarios shared by the local-folder and S3 tests: Sluice writes
// Delta tables, delta-rs and DuckDB (Python) read them back.
import { DeltaLake, DeltaTable, ObjectStore, Row, WarehouseEvent } from '../../src';
import { readDelta, ReadArgs, sluiceType, TableReport } from './python';

export interface Fixture {
  /** A store with a fresh root for this test. */
  store: ObjectStore;
  /** URI delta-rs opens for a table path inside the store. */
  uri(table: string): string;
  /** storage_options / s3 settings of the reader. */
  reader: Omit<ReadArgs, 'tables'>;
}

const uuidTs = '2026-11-22T03:00:00.000Z';

async function read(fx: Fixture, tables: { path: string; ids?: string[] }[]): Promise<Record<string, TableReport>> {
  const out = await readDelta({ ...fx.reader, tables: tables.map((t) => ({ uri: fx.uri(t.path), ids: t.ids })) });
  return Object.fromEntries(tables.map((t) => [t.path, out[fx.uri(t.path)]!]));
}

function event(i: number, extra: Partial<WarehouseEvent> = {}): WarehouseEvent {
  const at = new Date(Date.parse('2026-11-22T01:00:00.000Z') + i * 1000).toISOString();
  return {
    type: 'track',
    event: 'Order Completed',
    messageId: `m-${i}`,
    anonymousId: `anon-${i % 7}`,
    userId: i % 3 === 0 ? null : `user-${i % 5}`,
    timestamp: at,
    originalTimestamp: at,
    sentAt: at,
    receivedAt: at,
    context: { library: { name: 'analytics-node', version: '1.0.0' }, ip: '10.0.0.1' },
    properties: { orderId: `o-${i}`, quantity: i, total: 10.5, paid: i % 2 === 0, items: [{ sku: 'a' }] },
    ...extra,
  };
}

export async function eventTablesRoundTrip(fx: Fixture): Promise<void> {
  const lake = new DeltaLake(fx.store, { root: 'wh' });
  const events: WarehouseEvent[] = [
    ...Array.from({ length: 50 }, (_, i) => event(i)),
    {
      type: 'identify',
      messageId: 'i-1',
      userId: 'user-1',
      receivedAt: '2026-11-22T01:00:00.000Z',
      traits: { email: 'one@example.com', plan: 'free' },
    },
    {
      type: 'identify',
      messageId: 'i-2',
      userId: 'user-1',
      receivedAt: '2026-11-22T02:00:00.000Z',
      traits: { plan: 'pro' },
    },
    {
      type: 'page',
      messageId: 'p-1',
      anonymousId: 'anon-1',
      name: 'Home',
      properties: { path: '/' },
      receivedAt: '2026-11-22T01:00:00.000Z',
    },
    { type: 'screen', messageId: 's-1', userId: 'user-2', name: 'Main', receivedAt: '2026-11-22T01:00:00.000Z' },
    {
      type: 'group',
      messageId: 'g-1',
      userId: 'user-2',
      groupId: 'acme',
      traits: { employees: 12 },
      receivedAt: '2026-11-22T01:00:00.000Z',
    },
    { type: 'alias', messageId: 'a-1', userId: 'user-3', previousId: 'anon-3', receivedAt: '2026-11-22T01:00:00.000Z' },
  ];
  const out = await lake.writeEvents(events, { appId: 'loader-0', version: 1, uuidTs });
  expect(out.status).toBe('ok');
  expect(Object.keys(out.tables).sort()).toEqual([
    'aliases',
    'groups',
    'identifies',
    'order_completed',
    'pages',
    'screens',
    'tracks',
    'users',
  ]);

  const r = await read(fx, [
    { path: 'wh/tracks', ids: ['m-4'] },
    { path: 'wh/order_completed', ids: ['m-3', 'm-4'] },
    { path: 'wh/users', ids: ['user-1'] },
    { path: 'wh/identifies' },
    { path: 'wh/pages', ids: ['p-1'] },
    { path: 'wh/screens' },
    { path: 'wh/groups', ids: ['g-1'] },
    { path: 'wh/aliases', ids: ['a-1'] },
  ]);
  expect(r['wh/tracks']!.rows).toBe(50);
  expect(r['wh/tracks']!.duckdb_rows).toBe(50);
  const oc = r['wh/order_completed']!;
  expect(oc.rows).toBe(50);
  expect(oc.distinct_ids).toBe(50);
  expect(oc.duckdb_rows).toBe(50);
  const types = Object.fromEntries(Object.entries(oc.schema).map(([k, v]) => [k, sluiceType(v)]));
  expect(types).toMatchObject({
    id: 'string',
    anonymous_id: 'string',
    user_id: 'string',
    received_at: 'timestamp',
    sent_at: 'timestamp',
    timestamp: 'timestamp',
    original_timestamp: 'timestamp',
    uuid_ts: 'timestamp',
    event: 'string',
    event_text: 'string',
    context_library_name: 'string',
    order_id: 'string',
    quantity: 'int',
    total: 'float',
    paid: 'boolean',
    items: 'string',
  });
  expect(oc.duckdb_types).toMatchObject({
    quantity: 'BIGINT',
    total: 'DOUBLE',
    paid: 'BOOLEAN',
    received_at: 'TIMESTAMP WITH TIME ZONE',
  });
  expect(oc.by_id!['m-3']).toMatchObject({
    user_id: null,
    quantity: 3,
    paid: false,
    event: 'order_completed',
    event_text: 'Order Completed',
    items: '[{"sku":"a"}]',
  });
  expect(oc.by_id!['m-4']).toMatchObject({ user_id: 'user-4', quantity: 4, paid: true, total: 10.5 });
  expect(String(oc.by_id!['m-4']!.received_at)).toMatch(/^2026-11-22 01:00:04(\+00:00)?$/);
  expect(r['wh/users']!.rows).toBe(1);
  expect(r['wh/users']!.by_id!['user-1']).toMatchObject({ email: 'one@example.com', plan: 'pro' });
  expect(r['wh/identifies']!.rows).toBe(2);
  expect(r['wh/pages']!.by_id!['p-1']).toMatchObject({ name: 'Home', path: '/' });
  expect(r['wh/screens']!.rows).toBe(1);
  expect(r['wh/groups']!.by_id!['g-1']).toMatchObject({ group_id: 'acme', employees: 12 });
  expect(r['wh/aliases']!.by_id!['a-1']).toMatchObject({ previous_id: 'anon-3', user_id: 'user-3' });

  // Replaying the same batch is a no-op: counts by id unchanged.
  const replay = await lake.writeEvents(events, { appId: 'loader-0', version: 1, uuidTs });
  expect(Object.values(replay.tables).every((o) => o.status === 'skipped')).toBe(true);
  const again = await read(fx, [{ path: 'wh/order_completed' }, { path: 'wh/users' }]);
  expect(again['wh/order_completed']!).toMatchObject({ rows: 50, distinct_ids: 50, version: 0 });
  expect(again['wh/users']!.rows).toBe(1);
}

export async function schemaEvolution(fx: Fixture): Promise<void> {
  const lake = new DeltaLake(fx.store, { root: 'evo' });
  const batch = (version: number, events: WarehouseEvent[]) =>
    lake.writeEvents(events, { appId: 'loader-1', version, uuidTs });
  expect((await batch(1, [event(1, { properties: { quantity: 1, size: 'M' } })])).status).toBe('ok');
  // new column + int → float
  const second = await batch(2, [event(2, { properties: { quantity: 2.5, size: 'L', color: 'red' } })]);
  expect(second.tables.order_completed).toMatchObject({
    status: 'committed',
    schemaChanges: [
      { kind: 'widen', column: 'quantity', from: 'int', to: 'float' },
      { kind: 'add', column: 'color', type: 'string' },
    ],
  });
  // uncoercible → NULL + discards; anything into a string column
  const third = await batch(3, [event(3, { properties: { quantity: 'lots', size: 42, color: true } })]);
  expect(third.discards).toBe(1);

  const r = await read(fx, [{ path: 'evo/order_completed', ids: ['m-1', 'm-2', 'm-3'] }, { path: 'evo/discards' }]);
  const oc = r['evo/order_completed']!;
  expect(sluiceType(oc.schema.quantity!)).toBe('float');
  expect(sluiceType(oc.schema.color!)).toBe('string');
  expect(oc.duckdb_types).toMatchObject({ quantity: 'DOUBLE', color: 'VARCHAR' });
  expect(oc.rows).toBe(3);
  expect(oc.by_id!['m-1']).toMatchObject({ quantity: 1, size: 'M', color: null });
  expect(oc.by_id!['m-2']).toMatchObject({ quantity: 2.5, size: 'L', color: 'red' });
  expect(oc.by_id!['m-3']).toMatchObject({ quantity: null, size: '42', color: 'true' });
  expect(oc.history).toBe(3);
  const discards = r['evo/discards']!;
  expect(discards.rows).toBe(1);
  const d = await readDelta({ ...fx.reader, tables: [{ uri: fx.uri('evo/discards') }] });
  expect(Object.values(d)[0]!.schema).toMatchObject({
    table_name: expect.stringMatching(/string/),
    column_value: expect.stringMatching(/string/),
  });
  // the discard row's content, via Sluice's own view of the same table
  const state = await lake.table('discards').state();
  expect(state.files.size).toBe(1);
}

export async function discardContents(fx: Fixture): Promise<void> {
  const lake = new DeltaLake(fx.store, { root: 'disc' });
  await lake.writeEvents([event(1)], { appId: 'l', version: 1, uuidTs });
  await lake.writeEvents([event(2, { properties: { paid: 'yes' } })], { appId: 'l', version: 2, uuidTs });
  const out = await readDelta({ ...fx.reader, tables: [{ uri: fx.uri('disc/discards') }] });
  const report = Object.values(out)[0]!;
  expect(report.rows).toBe(1);
  expect(report.duckdb_rows).toBe(1);
  expect(Object.keys(report.schema)).toEqual([
    'table_name',
    'row_id',
    'column_name',
    'column_value',
    'received_at',
    'uuid_ts',
    'reason',
  ]);
}

/** Two writers race with 10 concurrent commits each on one table. */
export async function racingWriters(fx: Fixture, concurrent: boolean): Promise<void> {
  const a = new DeltaTable(fx.store, 'race/t');
  const b = new DeltaTable(fx.store, 'race/t');
  const rows = (writer: string, i: number): Row[] =>
    Array.from({ length: 10 }, (_, k) => ({ id: `${writer}-${i}-${k}`, received_at: uuidTs, n: k }));
  if (concurrent) {
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => [
        a.commitBatch({ appId: `a-${i}`, version: 1, rows: rows('a', i), uuidTs }),
        b.commitBatch({ appId: `b-${i}`, version: 1, rows: rows('b', i), uuidTs }),
      ]).flat(),
    );
    expect(outcomes.map((o) => o.status)).toEqual(Array(20).fill('committed'));
    expect(outcomes.some((o) => o.status === 'committed' && o.attempts > 1)).toBe(true);
  } else {
    // Deterministic conflicts: each time b is about to put its next log entry,
    // a commits first (through the real store), so b's put-if-absent finds the
    // version taken, re-reads the log and retries as N+1.
    let i = 0;
    const inner = fx.store;
    const interleaving: ObjectStore = {
      url: inner.url,
      put: (k, v) => inner.put(k, v),
      get: (k) => inner.get(k),
      list: (p) => inner.list(p),
      delete: (k) => inner.delete(k),
      putIfAbsent: async (k, v) => {
        if (k.includes('_delta_log/') && pendingA) {
          const run = pendingA;
          pendingA = undefined;
          expect(await run()).toMatchObject({ status: 'committed' });
        }
        return inner.putIfAbsent(k, v);
      },
    };
    let pendingA: (() => ReturnType<DeltaTable['commitBatch']>) | undefined;
    const b2 = new DeltaTable(interleaving, 'race/t');
    for (; i < 10; i++) {
      const n = i;
      pendingA = () => a.commitBatch({ appId: 'a', version: n + 1, rows: rows('a', n), uuidTs });
      const outcome = await b2.commitBatch({ appId: 'b', version: i + 1, rows: rows('b', i), uuidTs });
      expect(outcome).toMatchObject({ status: 'committed', attempts: 2, version: 2 * i + 1 });
    }
    void b;
  }
  const r = (await read(fx, [{ path: 'race/t' }]))['race/t']!;
  expect(r.version).toBe(19);
  expect(r.history).toBe(20);
  expect(r.rows).toBe(200);
  expect(r.distinct_ids).toBe(200);
  expect(r.duckdb_rows).toBe(200);
}

/** Checkpoints every 5 commits; with the commits before the last checkpoint deleted, delta-rs still reads it all. */
export async function checkpoints(fx: Fixture): Promise<void> {
  const table = new DeltaTable(fx.store, 'cp/t', { checkpointInterval: 5 });
  for (let v = 1; v <= 12; v++) {
    const rows: Row[] = Array.from({ length: 5 }, (_, k) => ({
      id: `r-${v}-${k}`,
      received_at: uuidTs,
      n: k,
      ...(v > 8 ? { late: v * 1.5 } : {}),
    }));
    expect(await table.commitBatch({ appId: 'loader-cp', version: v, rows, uuidTs })).toMatchObject({
      status: 'committed',
    });
  }
  for (let v = 0; v <= 10; v++) await fx.store.delete(`cp/t/_delta_log/${String(v).padStart(20, '0')}.json`);
  const out = await readDelta({ ...fx.reader, tables: [{ uri: fx.uri('cp/t'), txn_apps: ['loader-cp'] }] });
  const r = Object.values(out)[0]!;
  expect(r).toMatchObject({ version: 11, rows: 60, distinct_ids: 60, duckdb_rows: 60, txn: { 'loader-cp': 12 } });
  expect(sluiceType(r.schema.late!)).toBe('float');
  // Sluice's own reader starts from the checkpoint too.
  const state = await new DeltaTable(fx.store, 'cp/t').state();
  expect(state).toMatchObject({ version: 11 });
  expect(state.files.size).toBe(12);
}

/** Compaction rewrites small files into one; delta-rs reads the same rows, a writer racing it loses nothing. */
export async function compaction(fx: Fixture, concurrentWriter: boolean): Promise<void> {
  const table = new DeltaTable(fx.store, 'opt/t', { checkpointInterval: 0 });
  for (let v = 1; v <= 12; v++) {
    const rows: Row[] = Array.from({ length: 3 }, (_, k) => ({
      id: `r-${v}-${k}`,
      received_at: uuidTs,
      n: v * 10 + k,
    }));
    expect(await table.commitBatch({ appId: 'w', version: v, rows, uuidTs })).toMatchObject({ status: 'committed' });
  }
  const writer = new DeltaTable(fx.store, 'opt/t');
  const late = () =>
    writer.commitBatch({ appId: 'w', version: 13, rows: [{ id: 'late', received_at: uuidTs, n: 1 }], uuidTs });
  const [compacted, written] = concurrentWriter
    ? await Promise.all([table.compact({ minFiles: 5 }), late()])
    : [await table.compact({ minFiles: 5 }), await late()];
  expect(compacted).toMatchObject({ status: 'compacted', filesAdded: 1 });
  expect(written).toMatchObject({ status: 'committed' });
  const state = await new DeltaTable(fx.store, 'opt/t').state();
  expect(state.files.size).toBeLessThanOrEqual(2);
  const r = (await read(fx, [{ path: 'opt/t' }]))['opt/t']!;
  expect(r).toMatchObject({ version: 13, rows: 37, distinct_ids: 37, duckdb_rows: 37 });
}
