import { ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  brokers,
  makeEvents,
  produceEvents,
  Receiver,
  registryUrl,
  testKafka,
  testSerde,
  uniquePrefix,
  waitFor,
} from './support';

const main = path.join(__dirname, '..', 'src', 'main.ts');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

function startRouter(workspace: string, prefix: string, metricsPort: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      WORKSPACE_FILE: workspace,
      KAFKA_BROKERS: brokers.join(','),
      SCHEMA_REGISTRY_URL: registryUrl,
      SLUICE_TOPIC_PREFIX: prefix,
      METRICS_PORT: String(metricsPort),
      LOG_LEVEL: 'error',
      ROUTER_SESSION_TIMEOUT_MS: '6000',
      ROUTER_MIN_BACKOFF_MS: '200',
      ROUTER_MAX_BACKOFF_MS: '500',
      ROUTER_COMMIT_INTERVAL_MS: '200',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

async function metric(port: number, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await res.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
    .reduce((a, l) => a + Number(l.split(' ').pop()), 0);
}

async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200;
  } catch {
    return false;
  }
}

describe('router killed with SIGKILL mid-load', () => {
  it('loses nothing, keeps first deliveries in per-user order, and counts redeliveries', async () => {
    const prefix = uniquePrefix('kill');
    const rx = await new Receiver().start();
    rx.delayMs = 15;
    let stuck = true;
    // One user fails until the restart: its partition's watermark stays behind while others finish above it.
    rx.decide = (events) => (stuck && events.some((e) => e.user === 'stuck') ? { status: 503 } : { status: 200 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-router-kill-'));
    const workspace = path.join(dir, 'workspace.json');
    fs.writeFileSync(
      workspace,
      JSON.stringify({
        destinations: [{ id: 'hook', type: 'webhook', name: 'hook', enabled: true, config: { url: rx.url } }],
      }),
    );
    const kafka = testKafka();
    const serde = testSerde();
    const stuckEvents = Array.from({ length: 5 }, (_, s) => ({ user: 'stuck', seq: s, messageId: `stuck-${s}` }));
    const events = makeEvents(60, 40);
    await produceEvents(kafka, serde, prefix, 'hook', stuckEvents);
    await produceEvents(kafka, serde, prefix, 'hook', events);
    const total = events.length + stuckEvents.length;

    const port1 = await freePort();
    const first = startRouter(workspace, prefix, port1);
    let second: ChildProcess | undefined;
    try {
      await waitFor(() => rx.accepted.length >= 800, 90000, 'the first router to deliver part of the load');
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      const beforeCrash = rx.distinct();
      expect(beforeCrash).toBeLessThan(total);

      const port2 = await freePort();
      second = startRouter(workspace, prefix, port2);
      await waitFor(() => ready(port2), 60000, 'the second router');
      stuck = false;
      await waitFor(() => rx.distinct() >= total, 120000, 'every event after the restart');

      // Nothing lost.
      const ids = new Set(rx.accepted.map((e) => e.messageId));
      for (const e of [...events, ...stuckEvents]) expect(ids.has(e.messageId)).toBe(true);
      // Per user, first deliveries are in order; what repeats is a replay of an earlier run's tail.
      for (const [user, seqs] of rx.perUser()) {
        const firsts = seqs.filter((s, i) => seqs.indexOf(s) === i);
        expect({ user, firsts }).toEqual({ user, firsts: [...firsts].sort((a, b) => a - b) });
      }
      const duplicates = rx.accepted.length - ids.size;
      const counted = await metric(port2, 'sluice_router_redeliveries_total');
      expect(duplicates).toBeGreaterThan(0);
      expect(counted).toBeGreaterThan(0);
      expect(counted).toBeLessThanOrEqual(duplicates);
      // A graceful stop commits every watermark: the group's offsets reach the end of the topic.
      const stopping = second;
      second = undefined;
      stopping.kill('SIGTERM');
      const code = await new Promise<number | null>((r) => stopping.once('exit', (c) => r(c)));
      expect(code).toBe(0);
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topic = `${prefix}sluice.dest.hook`;
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: `${prefix}sluice-router.hook`, topics: [topic] });
        for (const e of ends) {
          expect({ p: e.partition, o: committed.partitions.find((x) => x.partition === e.partition)?.offset }).toEqual({
            p: e.partition,
            o: e.high,
          });
        }
      } finally {
        await admin.disconnect();
      }
      process.stdout.write(
        `kill -9 test: ${total} events, ${beforeCrash} before the kill, ${duplicates} duplicates at the receiver, ${counted} counted by the router\n`,
      );
    } finally {
      if (first.exitCode === null) first.kill('SIGKILL');
      if (second) {
        second.kill('SIGTERM');
        await new Promise((r) => second!.once('exit', r));
      }
      await rx.stop();
    }
  });
});
