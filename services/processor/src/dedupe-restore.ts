import type { Admin, Kafka } from 'kafkajs';
import { fetchTopicOffsetsWhenReady } from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import { decodeChangelogRecord, type DedupeIndex } from '@sluice/processing';
import { randomUUID } from 'node:crypto';

/**
 * Rebuilds the dedupe index of the given partitions from the compacted
 * changelog, reading committed records only. Only the owner of input
 * partition p writes changelog partition p, so once a reader stops seeing
 * records, whatever lies beyond is a crashed owner's open transaction, which
 * will be aborted: the restore may stop there.
 */
export async function restoreDedupe(
  kafka: Kafka,
  admin: Admin,
  changelogTopic: string,
  partitions: number[],
  index: DedupeIndex,
  log: Logger,
  idleMs = 2000,
): Promise<number> {
  if (partitions.length === 0) return 0;
  const offsets = await fetchTopicOffsetsWhenReady(admin, changelogTopic);
  const wanted = new Set(partitions);
  const remaining = new Map<number, bigint>();
  for (const o of offsets) {
    if (wanted.has(o.partition) && BigInt(o.high) > BigInt(o.low)) remaining.set(o.partition, BigInt(o.high) - 1n);
  }
  for (const p of partitions) index.dropPartition(p);
  if (remaining.size === 0) return 0;

  const consumer = kafka.consumer({ groupId: `sluice-processor-restore-${randomUUID()}`, readUncommitted: false });
  let applied = 0;
  const now = Date.now();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: changelogTopic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      let idle: NodeJS.Timeout = setTimeout(resolve, idleMs * 5);
      const bump = () => {
        clearTimeout(idle);
        idle = setTimeout(resolve, idleMs);
      };
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            bump();
            if (!wanted.has(batch.partition)) return;
            for (const m of batch.messages) {
              for (const entry of decodeChangelogRecord(batch.partition, m.key, m.value)) {
                index.apply(entry, now);
                applied++;
              }
            }
            const last = BigInt(batch.lastOffset());
            const end = remaining.get(batch.partition);
            if (end !== undefined && last >= end) remaining.delete(batch.partition);
            if (remaining.size === 0) {
              clearTimeout(idle);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  log.info({ partitions, applied }, 'dedupe state restored from changelog');
  return applied;
}
