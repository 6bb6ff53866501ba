import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { brokers, Harness, registryUrl, settle, uniquePrefix, waitFor, writeWorkspace } from './harness';

const main = path.join(__dirname, '..', 'src', 'main.ts');

const workspace = {
  sources: [{ id: 'web', name: 'Web', type: 'http', writeKey: 'web-write-key-1' }],
  destinations: [
    { id: 'hooks', name: 'Hooks', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } },
    { id: 'xf', name: 'Transformed', type: 'webhook', config: { url: 'http://127.0.0.1:9/xf' } },
  ],
  connections: [
    { sourceId: 'web', destinationId: 'hooks' },
    { sourceId: 'web', destinationId: 'xf', transformationId: 'upper' },
  ],
  transformations: [
    {
      id: 'upper',
      name: 'Upper-case',
      code: 'export function transformEvent(e) { e.event = String(e.event).toUpperCase(); return e; }',
    },
  ],
};

function startProcessor(prefix: string, file: string, instanceId = 'crash-test'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', main], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers,
      SCHEMA_REGISTRY_URL: registryUrl,
      SLUICE_TOPIC_PREFIX: prefix,
      WORKSPACE_FILE: file,
      METRICS_PORT: '0',
      PROCESSOR_INSTANCE_ID: instanceId,
      PROCESSOR_SESSION_TIMEOUT_MS: '8000',
      // Small fetches: many transactions, so the kill lands between and inside them.
      PROCESSOR_MAX_BYTES_PER_PARTITION: '16384',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

describe('processor crash', () => {
  it('leaves every destination topic with each accepted event exactly once after kill -9 and restart', async () => {
    const prefix = uniquePrefix('pcrash');
    const file = writeWorkspace(workspace);
    const h = new Harness(prefix, ['hooks', 'xf']);
    await h.start();
    const total = 4000;
    const ids = Array.from({ length: total }, (_, i) => `c-${i}`);
    for (let i = 0; i < total; i += 500) {
      await h.send(
        ids
          .slice(i, i + 500)
          .map((m, j) => ({ messageId: m, anonymousId: `anon-${(i + j) % 97}`, event: `e${i + j}` })),
      );
    }
    let proc = startProcessor(prefix, file);
    try {
      await waitFor(() => h.deliveredTo('hooks').length >= 600, 'some deliveries before the kill', 90000);
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
      expect(h.deliveredTo('hooks').length).toBeLessThan(total);
      proc = startProcessor(prefix, file);
      await waitFor(
        () =>
          new Set(h.deliveredTo('hooks').map((d) => d.messageId)).size >= total &&
          new Set(h.deliveredTo('xf').map((d) => d.messageId)).size >= total,
        'every event at both destinations',
        120000,
      );
      await settle(2000);
    } finally {
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
      await h.stop();
    }
    for (const dest of ['hooks', 'xf']) {
      const got = h.deliveredTo(dest).map((d) => d.messageId);
      expect(got).toHaveLength(total);
      expect(new Set(got).size).toBe(total);
    }
    expect(h.processed).toHaveLength(total);
    expect(h.deliveredTo('xf').every((d) => d.event.event === String(d.event.event).toUpperCase())).toBe(true);
    // Per-user order survives the crash: each user's events arrive in the order they were sent.
    const lastIndex = new Map<string, number>();
    for (const d of h.deliveredTo('hooks')) {
      const idx = Number(d.messageId.slice(2));
      const prev = lastIndex.get(d.partitionKey) ?? -1;
      expect(idx).toBeGreaterThan(prev);
      lastIndex.set(d.partitionKey, idx);
    }
  });

  it('makes an instance exit once another with its instance id fences it, and loses or repeats nothing', async () => {
    const prefix = uniquePrefix('pfence');
    const file = writeWorkspace(workspace);
    const h = new Harness(prefix, ['hooks']);
    await h.start();
    const first = startProcessor(prefix, file, 'fence-test');
    let firstCode: number | null | undefined;
    first.once('exit', (code) => (firstCode = code));
    let second: ChildProcess | undefined;
    let sent = 0;
    let sending = true;
    // Events keep arriving until the first instance is gone, so it has transactions to be refused.
    const sender = (async () => {
      while (sending) {
        await h.send(
          Array.from({ length: 50 }, (_, j) => ({
            messageId: `f-${sent + j}`,
            anonymousId: `anon-${(sent + j) % 31}`,
            event: `e${sent + j}`,
          })),
        );
        sent += 50;
        await settle(100);
      }
    })();
    try {
      await waitFor(() => h.deliveredTo('hooks').length > 0, 'deliveries by the first instance', 90000);
      second = startProcessor(prefix, file, 'fence-test');
      await waitFor(() => firstCode !== undefined, 'the fenced instance to exit', 90000);
      expect(firstCode).toBe(1);
      await settle(1000);
      sending = false;
      await sender;
      await waitFor(
        () => new Set(h.deliveredTo('hooks').map((d) => d.messageId)).size >= sent,
        'every event delivered by the second instance',
        120000,
      );
      await settle(2000);
    } finally {
      sending = false;
      await sender;
      first.kill('SIGKILL');
      second?.kill('SIGTERM');
      if (second && second.exitCode === null) await new Promise((r) => second!.once('exit', r));
      await h.stop();
    }
    const got = h.deliveredTo('hooks').map((d) => d.messageId);
    expect(got).toHaveLength(sent);
    expect(new Set(got).size).toBe(sent);
  });
});
