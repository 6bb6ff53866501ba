import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Gateway, startGateway } from '../src/gateway';
import { request, runId } from './helpers';
import { itConfig, log, SCHEMA_REGISTRY_URL, tempWorkspace, TopicReader, Workspace } from './it-helpers';

jest.setTimeout(300_000);

/**
 * Kafka goes away under load and comes back. This test runs its own broker
 * (deploy/local/stack.sh on two free ports) so stopping it disturbs nobody.
 */
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

function stack(cmd: string, env: Record<string, string>): void {
  const r = spawnSync('bash', [path.join(ROOT, 'deploy/local/stack.sh'), cmd], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 240_000,
  });
  if (r.status !== 0) throw new Error(`stack.sh ${cmd} failed (${r.status}): ${r.stderr}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, cond: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

describe('gateway when Kafka goes away', () => {
  const run = runId();
  const writeKey = `wk-outage-${run}`;
  let env: Record<string, string>;
  let brokers: string;
  let ws: Workspace;
  const running: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    const port = await freePort();
    const controller = await freePort();
    env = { KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller), KAFKA_HEAP: '-Xmx512m -Xms128m' };
    brokers = `127.0.0.1:${port}`;
    stack('kafka', env);
    ws = tempWorkspace([{ id: 'src-outage', name: 'Outage', writeKey, enabled: true }]);
  });

  afterAll(async () => {
    for (const g of running) await g.close();
    ws?.remove();
    // Stops the broker and deletes its data, config and logs.
    stack('kafka-reset', env);
    const local = process.env.SLUICE_LOCAL ?? path.join(ROOT, '.local');
    fs.rmSync(path.join(local, 'kafka', `server-${env.KAFKA_PORT}.properties`), { force: true });
    fs.rmSync(path.join(local, 'logs', `kafka-${env.KAFKA_PORT}`), { recursive: true, force: true });
    fs.rmSync(path.join(local, 'logs', `kafka-${env.KAFKA_PORT}.out`), { force: true });
  });

  const gatewayEnv = (prefix: string) => ({
    KAFKA_BROKERS: brokers,
    ACK_DEADLINE_MS: '2000',
    HEALTH_PROBE_MS: '300',
    RETRY_AFTER_SECONDS: '2',
    SLUICE_TOPIC_PREFIX: prefix,
  });

  /** The default produce path (@platformatic/kafka), in a main.ts process as it runs in production. */
  async function spawnGateway(prefix: string): Promise<{ url: string; topic: string }> {
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'services/gateway/src/main.ts'], {
      cwd: ROOT,
      env: {
        ...process.env,
        ...gatewayEnv(prefix),
        PORT: String(port),
        HOST: '127.0.0.1',
        WORKERS: '1',
        WORKSPACE_FILE: ws.file,
        SCHEMA_REGISTRY_URL,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    running.push({
      close: async () => {
        if (child.exitCode !== null) return;
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(15_000)]);
        if (child.exitCode === null) child.kill('SIGKILL');
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await until(
      'gateway up',
      async () => {
        try {
          return (await request(url, '/health', undefined, { method: 'GET' })).status === 200;
        } catch {
          return false;
        }
      },
      60_000,
    );
    return { url, topic: `${prefix}sluice.events.raw` };
  }

  async function inProcessGateway(prefix: string): Promise<{ url: string; topic: string }> {
    const gw: Gateway = await startGateway(itConfig(ws.file, prefix, gatewayEnv(prefix)), log);
    running.push(gw);
    return { url: gw.url, topic: gw.topic };
  }

  it.each([
    ['@platformatic/kafka (default, main.ts process)', spawnGateway],
    ['KafkaJS (in process)', inProcessGateway],
  ])('%s: 503 while Kafka is down, 200 once it is back, no acknowledged event lost', async (_name, startIt) => {
    const gw = await startIt(`it-gw-outage-${run}-${runId()}.`);
    const url = gw.url;
    const acked = new Set<string>();
    const statuses = new Map<number, number>();
    let seq = 0;
    let running = true;

    // Four clients sending small batches back to back, as SDKs would.
    const client = async (c: number) => {
      while (running) {
        const ids = [0, 1, 2].map((i) => `${run}-${c}-${seq++}-${i}`);
        const batch = ids.map((messageId, i) => ({
          type: 'track',
          messageId,
          userId: `user-${c}-${i}`,
          event: 'Outage Test',
        }));
        try {
          const r = await request(url, '/v1/batch', { batch }, { writeKey });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 200) ids.forEach((id) => acked.add(id));
          else if (r.status !== 503) throw new Error(`unexpected ${r.status}: ${r.body}`);
          else expect(r.headers['retry-after']).toBe('2');
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err;
        }
        await sleep(20);
      }
    };
    const clients = [0, 1, 2, 3].map(client);

    await until('first acks', async () => acked.size >= 60, 30_000);
    stack('kafka-stop', env);
    await until(
      'readiness false',
      async () => (await request(url, '/health', undefined, { method: 'GET' })).status === 503,
      30_000,
    );
    const before503 = statuses.get(503) ?? 0;
    await until('503s while down', async () => (statuses.get(503) ?? 0) >= before503 + 5, 30_000);
    const ackedWhileDown = acked.size;
    await sleep(1000);
    // Nothing can be acknowledged while the only broker is down.
    expect(acked.size).toBe(ackedWhileDown);

    stack('kafka', env);
    await until(
      'readiness true',
      async () => (await request(url, '/health', undefined, { method: 'GET' })).status === 200,
      90_000,
    );
    const back = acked.size;
    await until('200s again', async () => acked.size >= back + 60, 60_000);
    running = false;
    await Promise.all(clients);

    expect(statuses.get(503) ?? 0).toBeGreaterThan(0);
    const reader = await TopicReader.open(brokers, gw.topic);
    try {
      await reader.waitFor((events) => {
        const seen = new Set(events.map((e) => e.envelope.messageId));
        return [...acked].every((id) => seen.has(id));
      }, 60_000);
    } finally {
      await reader.close();
    }
  });
});
