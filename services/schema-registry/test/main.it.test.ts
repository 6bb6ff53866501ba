import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { createKafka, TOPICS, topicName } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';

// The root config's per-project testTimeout is not applied by jest 29; set it here.
jest.setTimeout(120000);

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const root = path.resolve(__dirname, '../../..');
const prefix = `it-registry-main-${randomUUID().slice(0, 8)}.`;

/** Starts main.ts as operators do and resolves with the port it logged. */
function startMain(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/schema-registry/src/main.ts'], {
    cwd: root,
    env: { ...process.env, KAFKA_BROKERS: brokers, SLUICE_TOPIC_PREFIX: prefix, PORT: '0', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`main.ts did not start:\n${out}`)), 60000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('schema registry listening')) continue;
        clearTimeout(timer);
        resolve({ child, port: (JSON.parse(line) as { port: number }).port });
        return;
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`main.ts exited with ${code}:\n${out}`));
    });
  });
}

afterAll(async () => {
  const kafka = createKafka(
    { brokers: [brokers], clientId: 'schema-registry-it', topicPrefix: '', ssl: false },
    createLogger('it', 'silent'),
  );
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [topicName(prefix, TOPICS.schemas.name)] });
  } finally {
    await admin.disconnect();
  }
});

describe('schema-registry main', () => {
  it('serves the API, /metrics and /health, and exits 0 on SIGTERM', async () => {
    const { child, port } = await startMain();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const base = `http://127.0.0.1:${port}`;
      const reg = await fetch(`${base}/subjects/main-value/versions`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
        body: JSON.stringify({ schema: '"string"' }),
      });
      expect(await reg.json()).toEqual({ id: 1 });
      expect(await (await fetch(`${base}/subjects`)).json()).toEqual(['main-value']);
      expect((await fetch(`${base}/health`)).status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/sluice_schema_registry_schemas\{[^}]*\} 1/);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
