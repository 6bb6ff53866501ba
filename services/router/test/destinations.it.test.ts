import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SchemaType } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import { createTopicsAndWait } from '@sluice/kafka';
import {
  startAmplitudeStandIn,
  startBrazeStandIn,
  startCustomerioStandIn,
  startGa4StandIn,
  startHubSpotStandIn,
  startMixpanelStandIn,
  startSalesforceStandIn,
  startWebhookReceiver,
} from '@sluice/standins';
import type { DestinationSpec } from '../src/workspace';
import {
  brokers,
  counter,
  produceEvents,
  readDeadLetters,
  runRouter,
  testKafka,
  testSerde,
  uniquePrefix,
  waitFor,
  type TestEvent,
} from './support';

/**
 * Every destination type of @sluice/destinations, delivered by the router from
 * real Kafka (DeliveryEnvelopes in sluice.dest.<id>, as the processor writes
 * them) to the vendor stand-ins, a real redis-server and a Kafka topic.
 */
const kafka = testKafka();
const serde = testSerde();

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const sock = connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve(true);
      });
      sock.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`redis not reachable on ${port}`);
}

/** Segment-spec events for one user: identify, track, page (seq 0, 1, 2). */
function userEvents(tag: string, u: number): TestEvent[] {
  const user = `user-${tag}-${u}`;
  const email = `${user}@example.com`;
  const ts = new Date(Date.now() - 60_000 + u).toISOString();
  const base = { user, userId: user, anonymousId: `anon-${tag}-${u}`, timestamp: ts, context: { ip: '10.0.0.1' } };
  return [
    {
      ...base,
      seq: 0,
      messageId: `${tag}-i-${u}`,
      type: 'identify',
      traits: { email, firstName: 'Ada', lastName: 'Lovelace', company: 'Engines' },
    },
    {
      ...base,
      seq: 1,
      messageId: `${tag}-t-${u}`,
      type: 'track',
      event: 'Product Viewed',
      properties: { seq: 1, sku: 'sku-1' },
    },
    { ...base, seq: 2, messageId: `${tag}-p-${u}`, type: 'page', name: 'Home', properties: { seq: 2, path: '/' } },
  ];
}

describe('router → every destination type (real Kafka, stand-ins, redis)', () => {
  let redisProc: ChildProcess | undefined;
  let redisDir: string | undefined;
  let redisUrl: string;

  beforeAll(async () => {
    if (process.env.REDIS_URL) {
      redisUrl = process.env.REDIS_URL;
      return;
    }
    const port = await freePort();
    redisDir = mkdtempSync(join(tmpdir(), 'router-redis-'));
    redisProc = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', redisDir],
      {
        stdio: 'ignore',
      },
    );
    await waitForPort(port);
    redisUrl = `redis://127.0.0.1:${port}`;
  });

  afterAll(async () => {
    if (redisProc) {
      redisProc.kill('SIGTERM');
      await new Promise((r) => redisProc!.once('exit', r));
    }
    if (redisDir) rmSync(redisDir, { recursive: true, force: true });
  });

  it('delivers identify, track and page to each destination type', async () => {
    const prefix = uniquePrefix('dests');
    const tag = randomBytes(3).toString('hex');
    const users = 4;
    const amp = await startAmplitudeStandIn({ apiKeys: ['amp-key'] });
    const mp = await startMixpanelStandIn({
      projectToken: 'tok',
      projectId: '42',
      serviceAccount: { username: 'sa', secret: 's' },
    });
    const hs = await startHubSpotStandIn({ accessToken: 'pat-good' });
    const bz = await startBrazeStandIn({ apiKeys: ['braze-key'] });
    const ga = await startGa4StandIn({ measurementId: 'G-TEST', apiSecret: 'secret' });
    const cio = await startCustomerioStandIn({ siteId: 'site-1', apiKey: 'key-1' });
    const sf = await startSalesforceStandIn({
      clientId: 'cid',
      clientSecret: 'cs',
      username: 'int@example.com',
      password: 'pwTOKEN',
    });
    const wh = await startWebhookReceiver({});
    const outTopic = `${prefix}kafka-out`;
    const redisPrefix = `${prefix}r:`;
    const dest = (id: string, type: string, config: Record<string, unknown>): DestinationSpec => ({
      id,
      type,
      name: id,
      enabled: true,
      config,
    });
    const dests: DestinationSpec[] = [
      dest('amp', 'amplitude', { apiKey: 'amp-key', baseUrl: amp.url }),
      dest('mp', 'mixpanel', { projectToken: 'tok', baseUrl: mp.url }),
      dest('hs', 'hubspot', { accessToken: 'pat-good', baseUrl: hs.url }),
      dest('bz', 'braze', { apiKey: 'braze-key', baseUrl: bz.url }),
      dest('ga', 'ga4', { measurementId: 'G-TEST', apiSecret: 'secret', baseUrl: ga.url }),
      dest('cio', 'customerio', { siteId: 'site-1', apiKey: 'key-1', baseUrl: cio.url }),
      dest('sf', 'salesforce', {
        loginUrl: sf.url,
        auth: {
          flow: 'password',
          clientId: 'cid',
          clientSecret: 'cs',
          username: 'int@example.com',
          password: 'pw',
          securityToken: 'TOKEN',
        },
      }),
      dest('wh', 'webhook', { url: `${wh.url}/hook` }),
      dest('kf', 'kafka', { topic: outTopic }),
      dest('rd', 'redis', { url: redisUrl, keyPrefix: redisPrefix }),
    ];
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic: outTopic, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();

    const events: TestEvent[] = [];
    for (let u = 0; u < users; u++) events.push(...userEvents(tag, u));
    const { router, registry } = await runRouter(prefix, dests);
    const redis = new Redis(redisUrl);
    const kafkaOut: Record<string, unknown>[] = [];
    const consumer = kafka.consumer({ groupId: `${prefix}out-reader` });
    try {
      expect(router.skipped).toEqual([]);
      for (const d of dests) await produceEvents(kafka, serde, prefix, d.id, events);
      await consumer.connect();
      await consumer.subscribe({ topic: outTopic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          kafkaOut.push(JSON.parse(message.value!.toString('utf8')) as Record<string, unknown>);
        },
      });

      // Every event of every destination is finished: delivered or skipped, none dead-lettered.
      const finished = async (id: string) =>
        (await counter(registry, 'sluice_router_deliveries_total', { destination: id, outcome: 'delivered' })) +
        (await counter(registry, 'sluice_router_deliveries_total', { destination: id, outcome: 'dead_letter' }));
      for (const d of dests)
        await waitFor(async () => (await finished(d.id)) >= events.length, 60000, `destination ${d.id}`);
      for (const d of dests) {
        expect([
          d.id,
          await counter(registry, 'sluice_router_deliveries_total', { destination: d.id, outcome: 'dead_letter' }),
        ]).toEqual([d.id, 0]);
      }

      const email = (u: number) => `user-${tag}-${u}@example.com`;
      // Amplitude: every call, deduped by insert_id = messageId.
      expect(amp.events.map((e) => e.insert_id).sort()).toEqual(events.map((e) => e.messageId).sort());
      expect(amp.events.filter((e) => e.event_type === 'Product Viewed')).toHaveLength(users);
      // Mixpanel: track and page as events, identify as a profile.
      expect(mp.events.filter((e) => e.event === 'Product Viewed')).toHaveLength(users);
      expect(mp.profiles.get(`user-${tag}-0`)).toMatchObject({ $email: email(0) });
      // HubSpot: contacts by email.
      expect(JSON.stringify([...hs.contacts.values()])).toContain(email(1));
      // Braze: attributes and the custom event.
      expect(bz.events.filter((e) => e.name === 'Product Viewed')).toHaveLength(users);
      expect(JSON.stringify(bz.attributes)).toContain(email(2));
      // GA4: the track as its recommended event, the page as page_view, nothing dropped.
      expect(ga.dropped).toEqual([]);
      expect(ga.events.filter((e) => e.event.name === 'view_item')).toHaveLength(users);
      expect(ga.events.filter((e) => e.event.name === 'page_view')).toHaveLength(users);
      // Customer.io: people and their events.
      expect(cio.people.size).toBeGreaterThanOrEqual(users);
      expect(cio.activities.filter((a) => a.event.name === 'Product Viewed')).toHaveLength(users);
      // Salesforce: a Lead per email, after one token.
      expect(sf.tokensIssued.length).toBeGreaterThanOrEqual(1);
      expect(JSON.stringify([...sf.records.values()])).toContain(email(3));
      // Webhook: each event as its body.
      expect(wh.received.map((r) => (r.json as { messageId: string }).messageId).sort()).toEqual(
        events.map((e) => e.messageId).sort(),
      );
      // Kafka: each event as a JSON record.
      await waitFor(() => kafkaOut.length >= events.length, 30000, 'kafka destination records');
      expect(kafkaOut.map((e) => e.messageId).sort()).toEqual(events.map((e) => e.messageId).sort());
      // Redis: traits hash and recent events list.
      expect(await redis.hget(`${redisPrefix}user:user-${tag}-0:traits`, 'email')).toBe(email(0));
      expect(await redis.llen(`${redisPrefix}user:user-${tag}-0:events`)).toBe(2);
    } finally {
      await consumer.disconnect();
      redis.disconnect();
      await router.stop();
      await Promise.all([amp, mp, hs, bz, ga, cio, sf, wh].map((s) => s.close()));
    }
  }, 180000);

  it('retries a vendor answering 503 and 429 for a while, then delivers in per-user order', async () => {
    const prefix = uniquePrefix('dest-retry');
    const tag = randomBytes(3).toString('hex');
    const amp = await startAmplitudeStandIn({ apiKeys: ['amp-key'] });
    amp.failNext(3, { status: 503 });
    amp.rateLimitNext(2, 1);
    const users = 5;
    const perUser = 6;
    const events: TestEvent[] = [];
    for (let s = 0; s < perUser; s++) {
      for (let u = 0; u < users; u++) {
        const user = `user-${tag}-${u}`;
        events.push({
          user,
          userId: user,
          seq: s,
          messageId: `${tag}-${u}-${s}`,
          type: 'track',
          event: 'Step',
          properties: { seq: s },
        });
      }
    }
    const { router, registry } = await runRouter(prefix, [
      { id: 'amp', type: 'amplitude', name: 'amp', enabled: true, config: { apiKey: 'amp-key', baseUrl: amp.url } },
    ]);
    try {
      await produceEvents(kafka, serde, prefix, 'amp', events);
      await waitFor(() => amp.events.length >= events.length, 90000, 'all events at amplitude');
      const perUserSeqs = new Map<string, number[]>();
      for (const e of amp.events) {
        const id = String(e.user_id);
        perUserSeqs.set(id, [...(perUserSeqs.get(id) ?? []), Number((e.event_properties as { seq: number }).seq)]);
      }
      expect(perUserSeqs.size).toBe(users);
      for (const seqs of perUserSeqs.values()) expect(seqs).toEqual([0, 1, 2, 3, 4, 5]);
      expect(amp.requests.length).toBeGreaterThan(amp.received.length);
      expect(
        await counter(registry, 'sluice_router_deliveries_total', { destination: 'amp', outcome: 'retry' }),
      ).toBeGreaterThan(0);
      expect(
        await counter(registry, 'sluice_router_deliveries_total', { destination: 'amp', outcome: 'dead_letter' }),
      ).toBe(0);
    } finally {
      await router.stop();
      await amp.close();
    }
  }, 120000);

  it('fetches a new token when the vendor says the session expired (Salesforce 401) and delivers', async () => {
    const prefix = uniquePrefix('dest-auth');
    const tag = randomBytes(3).toString('hex');
    const sf = await startSalesforceStandIn({
      clientId: 'cid',
      clientSecret: 'cs',
      username: 'int@example.com',
      password: 'pwTOKEN',
    });
    const ident = (u: number): TestEvent => ({
      user: `user-${tag}-${u}`,
      userId: `user-${tag}-${u}`,
      seq: 0,
      messageId: `${tag}-${u}`,
      type: 'identify',
      traits: { email: `u${u}-${tag}@example.com`, lastName: 'L', company: 'C' },
    });
    const { router } = await runRouter(prefix, [
      {
        id: 'sf',
        type: 'salesforce',
        name: 'sf',
        enabled: true,
        config: {
          loginUrl: sf.url,
          auth: {
            flow: 'password',
            clientId: 'cid',
            clientSecret: 'cs',
            username: 'int@example.com',
            password: 'pw',
            securityToken: 'TOKEN',
          },
        },
      },
    ]);
    try {
      await produceEvents(kafka, serde, prefix, 'sf', [ident(0)]);
      await waitFor(() => sf.records.size >= 1, 60000, 'the first lead');
      sf.expireSessions();
      await produceEvents(kafka, serde, prefix, 'sf', [ident(1)]);
      await waitFor(() => sf.records.size >= 2, 60000, 'the second lead');
      expect(sf.tokensIssued.length).toBe(2);
    } finally {
      await router.stop();
      await sf.close();
    }
  }, 120000);

  it('produces Avro records to a topic of a cluster given in the config (kafka destination, registry subject)', async () => {
    const prefix = uniquePrefix('dest-avro');
    const tag = randomBytes(3).toString('hex');
    const topic = `${prefix}avro-out`;
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 1, replicationFactor: 1 }]);
    await admin.disconnect();
    const schema = {
      type: 'record',
      name: 'Out',
      namespace: 'test.router',
      fields: [
        { name: 'type', type: 'string' },
        { name: 'messageId', type: 'string' },
        { name: 'userId', type: ['null', 'string'], default: null },
        { name: 'event', type: ['null', 'string'], default: null },
      ],
    };
    await serde.client.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
      { subject: `${topic}-value` },
    );
    const events: TestEvent[] = [0, 1, 2].map((s) => ({
      user: `user-${tag}`,
      userId: `user-${tag}`,
      seq: s,
      messageId: `${tag}-${s}`,
      type: 'track',
      event: `Step ${s}`,
    }));
    const { router } = await runRouter(prefix, [
      {
        id: 'kout',
        type: 'kafka',
        name: 'kout',
        enabled: true,
        config: { topic, format: 'avro', cluster: { brokers, clientId: 'router-test-out' } },
      },
    ]);
    const got: Record<string, unknown>[] = [];
    const consumer = kafka.consumer({ groupId: `${prefix}avro-reader` });
    try {
      await produceEvents(kafka, serde, prefix, 'kout', events);
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message }) => {
          got.push((await serde.client.decode(message.value!)) as Record<string, unknown>);
        },
      });
      await waitFor(() => got.length >= 3, 60000, 'avro records');
      expect(got).toEqual(
        events.map((e) => ({ type: 'track', messageId: e.messageId, userId: e.userId, event: e.event })),
      );
    } finally {
      await consumer.disconnect();
      await router.stop();
    }
  }, 120000);

  it('dead-letters an event the vendor answers 400, with the status, and goes on', async () => {
    const prefix = uniquePrefix('dest-400');
    const tag = randomBytes(3).toString('hex');
    const cio = await startCustomerioStandIn({ siteId: 'site-1', apiKey: 'key-1' });
    cio.failNext(1, { status: 400 });
    const user = `user-${tag}`;
    const events: TestEvent[] = [0, 1, 2].map((s) => ({
      user,
      userId: user,
      seq: s,
      messageId: `${tag}-${s}`,
      type: 'track',
      event: `Step ${s}`,
      properties: { seq: s },
    }));
    const { router } = await runRouter(prefix, [
      {
        id: 'cio',
        type: 'customerio',
        name: 'cio',
        enabled: true,
        config: { siteId: 'site-1', apiKey: 'key-1', baseUrl: cio.url },
      },
    ]);
    try {
      await produceEvents(kafka, serde, prefix, 'cio', events);
      await waitFor(() => cio.activities.length >= 2, 60000, 'the later events');
      expect(cio.activities.map((a) => a.event.name)).toEqual(['Step 1', 'Step 2']);
      const dls = await readDeadLetters(kafka, serde, prefix, 1);
      expect(dls).toHaveLength(1);
      expect(dls[0]).toMatchObject({
        stage: 'router',
        destinationId: 'cio',
        messageId: `${tag}-0`,
        partitionKey: user,
        retriable: false,
        lastStatus: 400,
      });
    } finally {
      await router.stop();
      await cio.close();
    }
  }, 90000);
});
