import { createLogger } from '@sluice/observability';
import type { TableSchema } from '@sluice/lake';
import type { DescribeOutcome, WarehouseBatch, WarehouseLoadOutcome, WarehouseSink } from '@sluice/warehouse';
import { WarehouseLoadError } from '@sluice/warehouse';
import type { LakeSink, SinkOutcome } from '../src/lake-sink';
import { WarehouseStage } from '../src/warehouse-stage';

const log = createLogger('warehouse-stage-test', 'silent');
const at = '2026-11-22T00:00:00.000Z';
const events = [{ type: 'track', messageId: 'm1', anonymousId: 'a', event: 'Clicked', receivedAt: at, timestamp: at }];
const input = { appId: 'g:t:0', version: 41, uuidTs: at };

function lake(status: SinkOutcome['status']): LakeSink & { calls: number } {
  const sink = {
    calls: 0,
    async write(): Promise<SinkOutcome> {
      sink.calls++;
      return { status, retriable: true, rows: status === 'ok' ? { tracks: 1 } : {}, discards: 0, rejected: 0 };
    },
  };
  return sink;
}

function warehouse(
  outcome: (b: WarehouseBatch) => WarehouseLoadOutcome,
  columns: (tables: readonly string[]) => DescribeOutcome = () => ({ status: 'ok', schemas: new Map() }),
): WarehouseSink & { batches: WarehouseBatch[]; described: string[][] } {
  const batches: WarehouseBatch[] = [];
  const described: string[][] = [];
  return {
    name: 'snowflake',
    batches,
    described,
    load: async (b) => (batches.push(b), outcome(b)),
    describe: async (tables) => (described.push([...tables]), columns(tables)),
    close: async () => undefined,
  };
}

test('the lake first, then the warehouse with the same appId/version; rows reported per warehouse table', async () => {
  const w = warehouse(() => ({
    status: 'ok',
    tables: { tracks: { status: 'loaded', rows: 1 }, clicked: { status: 'loaded', rows: 1 } },
  }));
  const out = await new WarehouseStage(lake('ok'), [w], log).write(events, input);
  expect(out).toMatchObject({ status: 'ok', rows: { tracks: 1, 'snowflake.tracks': 1, 'snowflake.clicked': 1 } });
  expect(w.batches).toHaveLength(1);
  expect(w.batches[0]).toMatchObject({ appId: 'g:t:0', version: 41 });
  expect(w.batches[0]!.tables.map((t) => t.table).sort()).toEqual(['clicked', 'tracks']);
});

test('a failed lake commit never reaches the warehouse; a failed warehouse load fails the batch (no offset commit)', async () => {
  const w = warehouse(() => ({ status: 'ok', tables: {} }));
  expect((await new WarehouseStage(lake('failed'), [w], log).write(events, input)).status).toBe('failed');
  expect(w.batches).toHaveLength(0);

  const error = new WarehouseLoadError('COPY failed', 'snowflake', 'tracks', 'g:t:0', 41, false, 'COPY INTO');
  const failing = warehouse(() => ({ status: 'failed', tables: {}, error }));
  const out = await new WarehouseStage(lake('ok'), [failing], log).write(events, input);
  expect(out).toMatchObject({ status: 'failed', retriable: false, error: 'COPY failed' });
});

test('a table first seen after a restart evolves from the warehouse column types, asked once per table', async () => {
  // The warehouse already has clicked.count as an integer column; this batch sends a string there.
  const known: TableSchema = { id: 'string', count: 'int' };
  const w = warehouse(
    () => ({ status: 'ok', tables: {} }),
    (tables) => ({ status: 'ok', schemas: new Map(tables.filter((t) => t === 'clicked').map((t) => [t, known])) }),
  );
  const stage = new WarehouseStage(lake('ok'), [w], log);
  const withCount = [{ ...events[0]!, properties: { count: 'twelve' } }];
  await stage.write(withCount, input);
  const clicked = w.batches[0]!.tables.find((t) => t.table === 'clicked')!;
  expect(clicked.schema.count).toBe('int');
  expect(clicked.rows[0]!.count ?? null).toBeNull();
  const discards = w.batches[0]!.tables.find((t) => t.table === 'discards');
  expect(discards?.rows).toEqual([expect.objectContaining({ table_name: 'clicked', column_name: 'count' })]);
  expect(w.described).toEqual([['clicked', 'tracks']].map((t) => expect.arrayContaining(t)));

  await stage.write(withCount, { ...input, version: 42 });
  expect(w.described).toHaveLength(1);
});

test('a warehouse that cannot say its columns fails the batch before loading anything', async () => {
  const error = new WarehouseLoadError('no session', 'snowflake', 'clicked', '', -1, true, 'SELECT column_name');
  const w = warehouse(
    () => ({ status: 'ok', tables: {} }),
    () => ({ status: 'failed', error }),
  );
  const out = await new WarehouseStage(lake('ok'), [w], log).write(events, input);
  expect(out).toMatchObject({ status: 'failed', retriable: true, error: 'no session' });
  expect(w.batches).toHaveLength(0);
});
