import { ChildProcess, spawn } from 'node:child_process';
import { createTopicsAndWait } from '../src';
import path from 'node:path';
import { testKafka, uniquePrefix } from './support';

const fixture = path.join(__dirname, 'fixtures', 'copy-stage.ts');

function startStage(input: string, output: string, group: string, txId: string, delayMs: number): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', fixture, input, output, group, txId, String(delayMs)], {
    env: process.env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

describe('TransactionalStage', () => {
  it('yields every output exactly once to read_committed readers across a kill -9 and restart', async () => {
    const prefix = uniquePrefix('eos');
    const input = `${prefix}in`;
    const output = `${prefix}out`;
    const group = `${prefix}stage`;
    const kafka = testKafka();
    const admin = kafka.admin();
    await admin.connect();
    await createTopicsAndWait(admin, [
      { topic: input, numPartitions: 4 },
      { topic: output, numPartitions: 4 },
    ]);
    await admin.disconnect();

    const total = 2000;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    await producer.send({
      topic: input,
      acks: -1,
      messages: Array.from({ length: total }, (_, i) => ({ key: `u${i % 50}`, value: `r${i}` })),
    });
    await producer.disconnect();

    const seen: string[] = [];
    const reader = kafka.consumer({ groupId: `${prefix}reader`, readUncommitted: false });
    await reader.connect();
    await reader.subscribe({ topic: output, fromBeginning: true });
    await reader.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });

    const first = startStage(input, output, group, `${prefix}tx-1`, 20);
    const until = Date.now() + 60000;
    while (seen.length < total / 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(2 * total);

    const second = startStage(input, output, group, `${prefix}tx-1`, 0);
    const until2 = Date.now() + 90000;
    while (seen.length < 2 * total && Date.now() < until2) await new Promise((r) => setTimeout(r, 100));
    // Let any late duplicate arrive before judging.
    await new Promise((r) => setTimeout(r, 2000));
    second.kill('SIGTERM');
    await new Promise((r) => second.once('exit', r));
    await reader.disconnect();

    const counts = new Map<string, number>();
    for (const v of seen) counts.set(v, (counts.get(v) ?? 0) + 1);
    expect(counts.size).toBe(2 * total);
    expect([...counts.values()].every((c) => c === 1)).toBe(true);
    expect(seen.length).toBe(2 * total);
  });
});
