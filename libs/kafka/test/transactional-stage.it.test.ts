import { ChildProcess, spawn } from 'node:child_process';
import { createTopicsAndWait, javaPartition, TransactionalClient } from '../src';
import path from 'node:path';
import { testKafka, uniquePrefix } from './support';

const fixture = path.join(__dirname, 'fixtures', 'copy-stage.ts');

function startStage(
  input: string,
  output: string,
  group: string,
  txId: string,
  delayMs: number,
  concurrency: number,
  client: TransactionalClient,
): ChildProcess {
  const args = [fixture, input, output, group, txId, String(delayMs), String(concurrency), client];
  return spawn(process.execPath, ['--import', 'tsx', ...args], {
    env: process.env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

describe('TransactionalStage', () => {
  it.each<[number, TransactionalClient]>([
    [3, 'kafkajs'],
    [1, 'platformatic'],
    [3, 'platformatic'],
  ])(
    'yields every output exactly once, in order per key, on the key partition, across a kill -9 and restart (%i partitions at once, %s transactions)',
    async (concurrency, client) => {
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
      // Small sends make small record batches, so the stage's 1 KiB fetches cut the load into ~50 batches.
      for (let i = 0; i < total; i += 20) {
        await producer.send({
          topic: input,
          acks: -1,
          messages: Array.from({ length: 20 }, (_, j) => ({ key: `u${(i + j) % 50}`, value: `r${i + j}` })),
        });
      }
      await producer.disconnect();

      const seen: string[] = [];
      const byKey = new Map<string, number[]>();
      const misplaced: string[] = [];
      const reader = kafka.consumer({ groupId: `${prefix}reader`, readUncommitted: false });
      await reader.connect();
      await reader.subscribe({ topic: output, fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message, partition }) => {
          const value = message.value!.toString();
          seen.push(value);
          if (partition !== javaPartition(message.key!, 4)) misplaced.push(value);
          if (value.endsWith(':a')) {
            const list = byKey.get(message.key!.toString()) ?? [];
            list.push(Number(value.slice(1, -2)));
            byKey.set(message.key!.toString(), list);
          }
        },
      });

      // Slow batches (250 ms each, ~50 of them): the kill lands mid-load even when the reader lags.
      const first = startStage(input, output, group, `${prefix}tx-1`, 250, concurrency, client);
      const until = Date.now() + 60000;
      while (seen.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      first.kill('SIGKILL');
      await new Promise((r) => first.once('exit', r));
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.length).toBeLessThan(2 * total);

      const second = startStage(input, output, group, `${prefix}tx-1`, 0, concurrency, client);
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
      expect(misplaced).toEqual([]);
      // Batches of one partition are committed one after another, whatever the concurrency.
      expect(byKey.size).toBe(50);
      for (const [, list] of byKey) expect(list).toEqual([...list].sort((a, b) => a - b));
    },
  );
});
