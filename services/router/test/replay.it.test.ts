import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { createDurableProducer, ensureTopics, topicName, TOPICS } from '@sluice/kafka';
import { AcceptedEvent, partitionKey, toEnvelope } from '@sluice/events';
import { backfill } from '../src/replay-core';
import {
  brokers,
  makeEvents,
  produceEvents,
  readDeadLetters,
  Receiver,
  registryUrl,
  runRouter,
  testKafka,
  testLog,
  testSerde,
  uniquePrefix,
  waitFor,
  webhookDest,
} from './support';

const run = promisify(execFile);
const cli = path.join(__dirname, '..', 'src', 'replay.ts');
const kafka = testKafka();
const serde = testSerde();

async function replayCli(prefix: string, args: string[]): Promise<{ produced: Record<string, number>; read: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', cli, ...args], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      SLUICE_TOPIC_PREFIX: prefix,
      LOG_LEVEL: 'error',
    },
  });
  return JSON.parse(stdout.trim().split('\n').pop() as string) as { produced: Record<string, number>; read: number };
}

describe('replay commands', () => {
  it('re-delivers dead-lettered events of one destination', async () => {
    const prefix = uniquePrefix('dlreplay');
    const rx = await new Receiver().start();
    const other = await new Receiver().start();
    let rejecting = true;
    rx.decide = (evs) => (rejecting && evs.some((e) => e.user === 'user-1') ? { status: 422 } : { status: 200 });
    other.decide = (evs) => (evs.some((e) => e.user === 'user-0' && e.seq === 0) ? { status: 400 } : { status: 200 });
    const { router } = await runRouter(prefix, [webhookDest('crm', rx.url), webhookDest('other', other.url)]);
    try {
      await produceEvents(kafka, serde, prefix, 'crm', makeEvents(3, 3));
      await produceEvents(kafka, serde, prefix, 'other', makeEvents(1, 2));
      await waitFor(() => rx.accepted.length >= 6 && other.accepted.length >= 1, 60000, 'first pass');
      const dls = await readDeadLetters(kafka, serde, prefix, 4);
      expect(
        dls
          .filter((d) => d.destinationId === 'crm')
          .map((d) => d.messageId)
          .sort(),
      ).toEqual(['m-1-0', 'm-1-1', 'm-1-2']);

      // A range that holds none of them replays nothing.
      const future = await replayCli(prefix, [
        'dead-letters',
        '--destination',
        'crm',
        '--from',
        new Date(Date.now() + 3600_000).toISOString(),
      ]);
      expect(future.produced).toEqual({});

      rejecting = false;
      const report = await replayCli(prefix, [
        'dead-letters',
        '--destination',
        'crm',
        '--from',
        new Date(Date.now() - 600_000).toISOString(),
      ]);
      expect(report.produced).toEqual({ crm: 3 });
      await waitFor(() => (rx.perUser().get('user-1') ?? []).length >= 3, 60000, 'replayed events');
      expect(rx.perUser().get('user-1')).toEqual([0, 1, 2]);
      // The other destination's dead letter stayed where it was.
      await new Promise((r) => setTimeout(r, 1000));
      expect(other.accepted.filter((e) => e.seq === 0)).toHaveLength(0);
    } finally {
      await router.stop();
      await rx.stop();
      await other.stop();
    }
  });

  it('backfills a time range of one source from the raw events topic', async () => {
    const prefix = uniquePrefix('backfill');
    const rx = await new Receiver().start();
    const rawTopic = topicName(prefix, TOPICS.eventsRaw.name);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [TOPICS.eventsRaw], prefix);
    await admin.disconnect();
    await serde.bindTopic(rawTopic, 'event-envelope');
    const base = Date.now() - 30 * 60_000;
    const producer = createDurableProducer(kafka);
    await producer.connect();
    const all: { sourceId: string; event: AcceptedEvent }[] = [];
    for (let i = 0; i < 40; i++) {
      const at = new Date(base + i * 1000).toISOString();
      const event: AcceptedEvent = {
        type: 'track',
        event: 'Clicked',
        messageId: `ev-${i}`,
        userId: `u${i % 4}`,
        properties: { i },
        receivedAt: at,
        timestamp: at,
      };
      all.push({ sourceId: i % 5 === 0 ? 'other-source' : 'web', event });
    }
    await producer.send({
      topic: rawTopic,
      acks: -1,
      messages: all.map(({ sourceId, event }) => ({
        key: partitionKey(event),
        value: serde.encode(rawTopic, 'event-envelope', toEnvelope(event, { sourceId })),
        timestamp: String(Date.parse(event.receivedAt)),
      })),
    });
    await producer.disconnect();

    const { router } = await runRouter(prefix, [webhookDest('warehouse-hook', rx.url)]);
    const replayProducer = createDurableProducer(kafka);
    await replayProducer.connect();
    try {
      // Events 10..29 (receivedAt in [base+10 s, base+30 s)) of source "web".
      const report = await backfill(
        { kafka, producer: replayProducer, serde, topicPrefix: prefix, log: testLog },
        { sourceId: 'web', destinationId: 'warehouse-hook', from: base + 10_000, to: base + 30_000 },
      );
      const expected = all
        .map((x, i) => ({ ...x, i }))
        .filter((x) => x.sourceId === 'web' && x.i >= 10 && x.i < 30)
        .map((x) => x.event.messageId);
      expect(report.produced).toEqual({ 'warehouse-hook': expected.length });
      await waitFor(() => rx.accepted.length >= expected.length, 60000, 'backfilled events');
      await new Promise((r) => setTimeout(r, 500));
      expect(rx.accepted.map((e) => e.messageId).sort()).toEqual([...expected].sort());
      const got = rx.accepted[0] as unknown as AcceptedEvent;
      expect(got).toMatchObject({ type: 'track', event: 'Clicked', properties: { i: expect.any(Number) } });
      // Per user, in the order they were accepted.
      for (const u of ['u0', 'u1', 'u2', 'u3']) {
        const seen = rx.accepted.filter((e) => (e as unknown as AcceptedEvent).userId === u).map((e) => e.messageId);
        expect(seen).toEqual(expected.filter((id) => all.find((x) => x.event.messageId === id)!.event.userId === u));
      }
    } finally {
      await replayProducer.disconnect();
      await router.stop();
      await rx.stop();
    }
  });
});
