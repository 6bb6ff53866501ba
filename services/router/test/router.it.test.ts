import {
  counter,
  expectInOrder,
  makeEvents,
  produceEvents,
  readDeadLetters,
  Receiver,
  runRouter,
  testKafka,
  testSerde,
  uniquePrefix,
  waitFor,
  webhookDest,
} from './support';

const kafka = testKafka();
const serde = testSerde();

describe('router on real Kafka with local webhooks', () => {
  it('delivers everything in per-user order after a destination outage while another destination flows', async () => {
    const prefix = uniquePrefix('outage');
    const down = await new Receiver().start();
    const healthy = await new Receiver().start();
    let outage = true;
    down.decide = () => (outage ? { status: 503 } : { status: 200 });
    const users = 30;
    const perUser = 10;
    const { router, registry } = await runRouter(prefix, [
      webhookDest('flaky', down.url),
      webhookDest('fine', healthy.url),
    ]);
    try {
      await produceEvents(kafka, serde, prefix, 'flaky', makeEvents(users, perUser));
      await produceEvents(kafka, serde, prefix, 'fine', makeEvents(users, perUser));
      // The healthy destination gets everything while the other one is down.
      await waitFor(() => healthy.accepted.length >= users * perUser, 60000, 'the healthy destination');
      expect(down.accepted).toHaveLength(0);
      expect(down.attempts.length).toBeGreaterThan(0);
      // Only heads were tried during the outage: never a user's second event.
      expect(down.attempts.every((a) => a.events.every((e) => e.seq === 0))).toBe(true);
      await new Promise((r) => setTimeout(r, 1500));
      outage = false;
      await waitFor(() => down.accepted.length >= users * perUser, 60000, 'the recovered destination');
      expectInOrder(down.perUser(), perUser, users);
      expectInOrder(healthy.perUser(), perUser, users);
      expect(
        await counter(registry, 'sluice_router_deliveries_total', { destination: 'flaky', outcome: 'retry' }),
      ).toBeGreaterThan(0);
      expect(
        await counter(registry, 'sluice_router_deliveries_total', { destination: 'flaky', outcome: 'delivered' }),
      ).toBe(users * perUser);
    } finally {
      await router.stop();
      await down.stop();
      await healthy.stop();
    }
  });

  it('dead-letters a 400 at once and goes on with that user', async () => {
    const prefix = uniquePrefix('abort');
    const rx = await new Receiver().start();
    rx.decide = (events) => (events.some((e) => e.bad) ? { status: 400 } : { status: 200 });
    const { router, registry } = await runRouter(prefix, [webhookDest('strict', rx.url)]);
    try {
      const events = makeEvents(5, 4);
      const bad = events.find((e) => e.user === 'user-2' && e.seq === 1)!;
      bad.bad = true;
      await produceEvents(kafka, serde, prefix, 'strict', events);
      await waitFor(() => rx.accepted.length >= 19, 60000, 'the good events');
      const dls = await readDeadLetters(kafka, serde, prefix, 1);
      expect(dls).toHaveLength(1);
      expect(dls[0]).toMatchObject({
        stage: 'router',
        destinationId: 'strict',
        messageId: bad.messageId,
        partitionKey: 'user-2',
        errorClass: 'DeliveryAborted',
        retriable: false,
        attempts: 1,
        lastStatus: 400,
        payloadFormat: 'json',
        originalTopic: `${prefix}sluice.dest.strict`,
      });
      expect(JSON.parse(Buffer.from(dls[0].payload).toString())).toEqual(bad);
      expect(rx.perUser().get('user-2')).toEqual([0, 2, 3]);
      // Tried once: no retries for a 400.
      expect(rx.attempts.filter((a) => a.events.some((e) => e.bad))).toHaveLength(1);
      expect(await counter(registry, 'sluice_router_dead_letters_total', { destination: 'strict' })).toBe(1);
    } finally {
      await router.stop();
      await rx.stop();
    }
  });

  it('waits as long as Retry-After says on a 429', async () => {
    const prefix = uniquePrefix('429');
    const rx = await new Receiver().start();
    let limited = 1;
    rx.decide = () => (limited-- > 0 ? { status: 429, headers: { 'retry-after': '2' } } : { status: 200 });
    // Backoff alone would retry after 200 ms.
    const { router } = await runRouter(prefix, [webhookDest('limited', rx.url)]);
    try {
      await produceEvents(kafka, serde, prefix, 'limited', makeEvents(1, 3));
      await waitFor(() => rx.accepted.length >= 3, 60000, 'delivery after the 429');
      const [first, second] = rx.attempts;
      expect(first.status).toBe(429);
      expect(second.events[0].seq).toBe(0);
      expect(second.at - first.at).toBeGreaterThanOrEqual(1900);
      expect(rx.perUser().get('user-0')).toEqual([0, 1, 2]);
    } finally {
      await router.stop();
      await rx.stop();
    }
  });

  it('shares a destination between two router instances and keeps per-user order', async () => {
    const prefix = uniquePrefix('two');
    const rx = await new Receiver().start();
    rx.delayMs = 2;
    const a = await runRouter(prefix, [webhookDest('shared', rx.url)]);
    const b = await runRouter(prefix, [webhookDest('shared', rx.url)]);
    try {
      // Wait until the group settled with both instances holding partitions.
      const held = (r: typeof a) => r.router.destinations[0].consumer.assignment().length;
      await waitFor(
        () => held(a) > 0 && held(b) > 0 && held(a) + held(b) === 12,
        60000,
        'both instances to hold partitions',
      );
      const users = 40;
      const perUser = 15;
      await produceEvents(kafka, serde, prefix, 'shared', makeEvents(users, perUser));
      await waitFor(() => rx.accepted.length >= users * perUser, 60000, 'all events');
      expectInOrder(rx.perUser(), perUser, users);
      const byA = await counter(a.registry, 'sluice_router_deliveries_total', { outcome: 'delivered' });
      const byB = await counter(b.registry, 'sluice_router_deliveries_total', { outcome: 'delivered' });
      expect(byA).toBeGreaterThan(0);
      expect(byB).toBeGreaterThan(0);
      expect(byA + byB).toBe(users * perUser);
    } finally {
      await Promise.all([a.router.stop(), b.router.stop()]);
      await rx.stop();
    }
  });

  it('pauses a partition at its queue cap while a user is blocked, then drains it in order', async () => {
    const prefix = uniquePrefix('cap');
    const rx = await new Receiver().start();
    let blocked = true;
    rx.decide = (evs) => (blocked && evs.some((e) => e.user === 'user-0') ? { status: 503 } : { status: 200 });
    const { router } = await runRouter(prefix, [webhookDest('capped', rx.url)], { maxQueuedPerPartition: 20 });
    const dest = router.destinations[0];
    try {
      const first = makeEvents(1, 100);
      await produceEvents(kafka, serde, prefix, 'capped', first);
      const partition = () => dest.engine.assignedPartitions().find((p) => dest.engine.queued(p) > 0);
      await waitFor(() => partition() !== undefined && dest.engine.overCap(partition()!), 60000, 'the cap');
      const p = partition()!;
      await waitFor(
        () => dest.consumer.consumer.paused().some((t) => t.partitions.includes(p)),
        10000,
        'the partition to pause',
      );
      const held = dest.engine.queued(p);
      // More events of the blocked user are not fetched while the partition is paused.
      const rest = makeEvents(1, 300).slice(100);
      await produceEvents(kafka, serde, prefix, 'capped', rest);
      await new Promise((r) => setTimeout(r, 2000));
      expect(dest.engine.queued(p)).toBe(held);
      blocked = false;
      await waitFor(() => rx.accepted.length >= 300, 60000, 'everything after unblocking');
      expectInOrder(rx.perUser(), 300, 1);
      expect(dest.consumer.consumer.paused().some((t) => t.partitions.includes(p))).toBe(false);
    } finally {
      await router.stop();
      await rx.stop();
    }
  });
});
