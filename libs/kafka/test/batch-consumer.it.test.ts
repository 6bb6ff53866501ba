import { ChildProcess, spawn } from 'node:child_process';
import { createTopicsAndWait } from '../src';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { testKafka, uniquePrefix } from './support';

const fixture = path.join(__dirname, 'fixtures', 'durable-consumer.ts');

function startConsumer(topic: string, group: string, out: string, delayMs: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fixture, topic, group, out, String(delayMs)], {
    env: process.env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

function handled(out: string): string[] {
  return fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
}

async function waitFor(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('BatchConsumer after a crash', () => {
  it('loses no record when a consumer is killed mid-batch and the group resumes', async () => {
    const prefix = uniquePrefix('crash');
    const topic = `${prefix}records`;
    const group = `${prefix}group`;
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-crash-')), 'handled.txt');
    const kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [{ topic, numPartitions: 3 }]);
    await admin.disconnect();

    const total = 600;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: total }, (_, i) => ({ key: `user-${i % 37}`, value: `r-${i}` })),
    });
    await producer.disconnect();

    // Slow enough that the kill lands inside a batch, after some batches committed.
    const first = startConsumer(topic, group, out, 5);
    await waitFor(() => handled(out).length >= 150, 60000, 'the first consumer to handle records');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    const beforeCrash = new Set(handled(out));
    expect(beforeCrash.size).toBeLessThan(total);

    const second = startConsumer(topic, group, out, 0);
    try {
      await waitFor(() => new Set(handled(out)).size >= total, 90000, 'the group to resume and finish');
    } finally {
      second.kill('SIGTERM');
      await new Promise((r) => second.once('exit', r));
    }
    const all = handled(out);
    const distinct = new Set(all);
    expect(distinct.size).toBe(total);
    for (let i = 0; i < total; i++) expect(distinct.has(`r-${i}`)).toBe(true);
    // At-least-once: only the uncommitted tail of the killed batch is seen twice.
    expect(all.length - distinct.size).toBeLessThan(total / 2);
  });
});
