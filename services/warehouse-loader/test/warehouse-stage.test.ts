import { createLogger } from '@sluice/observability';
import type { WarehouseBatch, WarehouseLoadOutcome, WarehouseSink } from '@sluice/warehouse';
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
): WarehouseSink & { batches: WarehouseBatch[] } {
  const batches: WarehouseBatch[] = [];
  return {
    name: 'snowflake',
    batches,
    load: async (b) => (batches.push(b), outcome(b)),
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
