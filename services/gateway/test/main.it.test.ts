import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startGateway } from '../src/gateway';
import { javaPartition } from '@sluice/kafka';
import { request, runId, sampleTrack } from './helpers';
import {
  deleteTopics,
  itConfig,
  KAFKA_BROKERS,
  log,
  SCHEMA_REGISTRY_URL,
  tempWorkspace,
  TopicReader,
} from './it-helpers';

jest.setTimeout(120_000);

const ROOT = path.resolve(__dirname, '../../..');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if (await cond()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('gateway lifecycle', () => {
  it('answers every in-flight request before it stops, and writes what it acknowledged', async () => {
    const run = runId();
    const prefix = `it-gw-stop-${run}.`;
    const ws = tempWorkspace([{ id: 'src', name: 'S', writeKey: `wk-${run}`, enabled: true }]);
    // A long linger keeps requests in flight when close() is called.
    const gw = await startGateway(itConfig(ws.file, prefix, { LINGER_MS: '1000' }), log);
    try {
      const sends = Array.from({ length: 20 }, (_, i) =>
        request(gw.url, '/v1/batch', { batch: [sampleTrack(i), sampleTrack(i + 100)] }, { writeKey: `wk-${run}` }),
      );
      // Close once the gateway holds all 20 (they wait out the linger).
      await until(
        '20 requests in flight',
        async () => {
          const m = await gw.registry.getSingleMetric('sluice_gateway_requests_in_flight')?.get();
          return (m?.values[0]?.value ?? 0) >= 20;
        },
        10_000,
      );
      const closed = gw.close();
      const replies = await Promise.all(sends);
      await closed;
      expect(replies.map((r) => r.status)).toEqual(Array(20).fill(200));
      const reader = await TopicReader.open(KAFKA_BROKERS, gw.topic);
      try {
        await reader.waitFor((events) => events.length >= 40);
      } finally {
        await reader.close();
      }
    } finally {
      await gw.close();
      await deleteTopics(KAFKA_BROKERS, [gw.topic]);
      ws.remove();
    }
  });

  // `make up` runs the bundle (decision 0507); both must behave the same.
  const cleanups: (() => void)[] = [];
  afterAll(() => cleanups.forEach((clean) => clean()));
  const launchers: [string, () => string[]][] = [
    ['main.ts under tsx', () => ['--import', 'tsx', 'services/gateway/src/main.ts']],
    [
      'the bundle from npm run build',
      () => {
        // Inside the repository, as in production: the bundle finds schemas/ and node_modules/ upwards.
        const outdir = path.join(ROOT, 'dist', `it-${runId()}`);
        cleanups.push(() => fs.rmSync(outdir, { recursive: true, force: true }));
        execFileSync(process.execPath, ['deploy/build.mjs', '--outdir', outdir, 'gateway'], { cwd: ROOT });
        return [path.join(outdir, 'gateway', 'main.js')];
      },
    ],
  ];

  // One process with encoder threads is the default (decision 0508); node:cluster stays an option.
  const modes: [string, Record<string, string>][] = [
    ['one process with encoder threads', { ENCODER_THREADS: '2' }],
    ['a cluster of 2 workers', { WORKERS: '2', ENCODER_THREADS: '0' }],
  ];
  const cases = launchers.flatMap(([label, launch]) => modes.map(([mode, env]) => [mode, label, launch, env] as const));

  it.each(cases)(
    'runs as %s from %s, answers /metrics for the whole gateway, and exits cleanly on SIGTERM',
    async (_mode, _label, launch, modeEnv) => {
      const run = runId();
      const prefix = `it-gw-main-${run}.`;
      const ws = tempWorkspace([{ id: 'src-main', name: 'Main', writeKey: `wk-${run}`, enabled: true }]);
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      let child: ChildProcess | undefined;
      try {
        child = spawn(process.execPath, launch(), {
          cwd: ROOT,
          env: {
            ...process.env,
            PORT: String(port),
            HOST: '127.0.0.1',
            ...modeEnv,
            WORKSPACE_FILE: ws.file,
            KAFKA_BROKERS,
            SCHEMA_REGISTRY_URL,
            SLUICE_TOPIC_PREFIX: prefix,
            LOG_LEVEL: 'warn',
          },
          stdio: ['ignore', 'ignore', 'inherit'],
        });
        await until(
          'health',
          async () => (await request(url, '/health', undefined, { method: 'GET' })).status === 200,
          60_000,
        );
        // Every worker answers (a cluster spreads connections round-robin).
        for (let i = 0; i < 20; i++) {
          const r = await request(url, '/v1/track', { userId: `u${i}`, event: 'Cluster' }, { writeKey: `wk-${run}` });
          if (r.status !== 200) {
            // a worker may still be starting: its readiness gates traffic
            expect(r.status).toBe(503);
            await new Promise((res) => setTimeout(res, 200));
            i--;
          }
        }
        const metrics = await request(url, '/metrics', undefined, { method: 'GET' });
        expect(metrics.status).toBe(200);
        const accepted = /sluice_gateway_events_accepted_total\{source="src-main"[^}]*\} (\d+)/.exec(metrics.body);
        expect(Number(accepted?.[1])).toBe(20);
        const where = modeEnv.ENCODER_THREADS === '0' ? 'http' : 'thread';
        const encoded = new RegExp(`sluice_gateway_requests_encoded_total\\{[^}]*encoder="${where}"[^}]*\\} (\\d+)`);
        expect(Number(encoded.exec(metrics.body)?.[1])).toBe(20);

        // The default produce path (@platformatic/kafka) wrote decodable records, partitioned as Java/KafkaJS would.
        const reader = await TopicReader.open(KAFKA_BROKERS, `${prefix}sluice.events.raw`);
        try {
          await reader.waitFor((events) => events.length >= 20);
          expect(reader.events).toHaveLength(20);
          for (const e of reader.events) {
            expect(e.envelope).toMatchObject({ type: 'track', event: 'Cluster', sourceId: 'src-main' });
            expect(e.key).toBe(`u:${e.envelope.userId}`);
            expect(e.partition).toBe(javaPartition(Buffer.from(e.key), 12));
          }
        } finally {
          await reader.close();
        }

        const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
        child.kill('SIGTERM');
        expect(await exited).toBe(0);
      } finally {
        if (child && child.exitCode === null) child.kill('SIGKILL');
        await deleteTopics(KAFKA_BROKERS, [`${prefix}sluice.events.raw`]);
        ws.remove();
      }
    },
  );
});
