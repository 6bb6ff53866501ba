import type { Consumer, Kafka, Message, Producer, Transaction } from 'kafkajs';
import type { Logger } from '@sluice/observability';
import type { BatchContext, ConsumedBatch } from './batch-consumer';
import { createPipelineConsumer } from './client';

export interface OutputRecord {
  topic: string;
  message: Message;
}

export interface StageResult {
  records: OutputRecord[];
  /**
   * Runs once the batch's transaction committed: where a handler keeps state
   * (a dedupe index), it applies the batch's changes here, so a batch that is
   * aborted and read again is not mistaken for its own duplicate.
   */
  onCommit?: () => void;
  /** Runs when the transaction failed: undo what the handler applied tentatively. */
  onAbort?: () => void;
}

/**
 * Turns one consumed batch into the records it yields. Must be free of other
 * side effects: on a crash the batch is handled again and only the committed
 * transaction's records count.
 */
export type StageHandler = (batch: ConsumedBatch, ctx: BatchContext) => Promise<OutputRecord[] | StageResult>;

export interface TransactionalStageOptions {
  groupId: string;
  topics: string[];
  /** Unique per running instance: the broker fences an older producer with the same id. */
  transactionalId: string;
  fromBeginning?: boolean;
  maxBytesPerPartition?: number;
  sessionTimeoutMs?: number;
  /** An open transaction of a crashed instance blocks read_committed readers at most this long. */
  transactionTimeoutMs?: number;
  /** Bytes of output records per produce request inside a transaction (default 512 KiB). */
  maxProduceBytes?: number;
  /** How often a transaction that hit CONCURRENT_TRANSACTIONS is retried before the batch is re-read. */
  transactionRetries?: number;
  /**
   * Batches of different partitions handled at once (default 1), each committed by its own
   * transactional producer (`<transactionalId>`, `<transactionalId>.1`, ...): while one batch's
   * transaction waits for the broker, another is handled. A partition's batches stay in order.
   */
  concurrency?: number;
}

const sizeOf = (m: Message) =>
  (typeof m.value === 'string' ? Buffer.byteLength(m.value) : (m.value?.length ?? 0)) +
  (typeof m.key === 'string' ? Buffer.byteLength(m.key) : (m.key?.length ?? 0)) +
  64;

/** Consecutive runs of records of at most `maxBytes` (a single larger record is a run of its own). */
export function chunkBySize(records: OutputRecord[], maxBytes: number): OutputRecord[][] {
  const chunks: OutputRecord[][] = [];
  let current: OutputRecord[] = [];
  let bytes = 0;
  for (const r of records) {
    const size = sizeOf(r.message);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

const isConcurrentTransactions = (err: unknown) =>
  err instanceof Error &&
  /CONCURRENT_TRANSACTIONS|concurrent transactions|The producer attempted to update a transaction while another concurrent operation/i.test(
    `${(err as { type?: string }).type ?? ''} ${err.message}`,
  );

/**
 * Consume → handle → produce exactly once: a batch's output records and its
 * input offsets are committed in one Kafka transaction, and downstream readers
 * use read_committed. A crash anywhere either commits both or neither.
 */
export class TransactionalStage {
  private readonly consumer: Consumer;
  private readonly producers: Producer[];
  /** Producers not committing a batch now; KafkaJS runs at most `concurrency` batches at once. */
  private readonly idle: Producer[];
  private running = false;

  constructor(
    kafka: Kafka,
    private readonly opts: TransactionalStageOptions,
    private readonly handler: StageHandler,
    private readonly log: Logger,
  ) {
    this.consumer = createPipelineConsumer(kafka, { ...opts, readCommitted: true });
    // Ids are stable per instance and slot, so a restarted instance fences its own zombies.
    this.producers = Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, (_, slot) =>
      kafka.producer({
        transactionalId: slot === 0 ? opts.transactionalId : `${opts.transactionalId}.${slot}`,
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        transactionTimeout: opts.transactionTimeoutMs ?? 30000,
      }),
    );
    this.idle = [...this.producers];
  }

  get rawConsumer(): Consumer {
    return this.consumer;
  }

  async start(): Promise<void> {
    for (const p of this.producers) await p.connect();
    await this.consumer.connect();
    for (const topic of this.opts.topics) {
      await this.consumer.subscribe({ topic, fromBeginning: this.opts.fromBeginning ?? true });
    }
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.producers.length,
      eachBatch: async ({ batch, resolveOffset, heartbeat, isRunning, isStale }) => {
        if (batch.messages.length === 0 || isStale()) return;
        const result = await this.handler(
          { topic: batch.topic, partition: batch.partition, messages: batch.messages },
          { heartbeat, isRunning: () => this.running && isRunning() },
        );
        const { records, onCommit, onAbort }: StageResult = Array.isArray(result) ? { records: result } : result;
        const last = batch.messages[batch.messages.length - 1];
        const nextOffset = (BigInt(last.offset) + 1n).toString();
        const producer = this.idle.pop();
        if (!producer) throw new Error('no idle transactional producer: more batches in flight than producers');
        try {
          await this.commitInTransaction(producer, records, batch.topic, batch.partition, nextOffset);
        } catch (err) {
          onAbort?.();
          throw err;
        } finally {
          this.idle.push(producer);
        }
        onCommit?.();
        resolveOffset(last.offset);
        await heartbeat();
      },
    });
    this.log.info({ groupId: this.opts.groupId, topics: this.opts.topics }, 'transactional stage started');
  }

  private async commitInTransaction(
    producer: Producer,
    outputs: OutputRecord[],
    topic: string,
    partition: number,
    offset: string,
  ) {
    const retries = this.opts.transactionRetries ?? 10;
    for (let attempt = 0; ; attempt++) {
      let tx: Transaction | undefined;
      try {
        tx = await producer.transaction();
        // One produce request per chunk: a whole batch's output for one partition could pass the
        // broker's message.max.bytes (1 MB by default), which is a non-retriable error.
        for (const chunk of chunkBySize(outputs, this.opts.maxProduceBytes ?? 512 * 1024)) {
          const byTopic = new Map<string, Message[]>();
          for (const o of chunk) {
            const list = byTopic.get(o.topic) ?? [];
            list.push(o.message);
            byTopic.set(o.topic, list);
          }
          await tx.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([t, messages]) => ({ topic: t, messages })),
          });
        }
        await tx.sendOffsets({
          consumerGroupId: this.opts.groupId,
          topics: [{ topic, partitions: [{ partition, offset }] }],
        });
        await tx.commit();
        return;
      } catch (err) {
        if (tx?.isActive()) await tx.abort().catch(() => undefined);
        // KafkaJS does not retry CONCURRENT_TRANSACTIONS itself (kafkajs#430).
        if (isConcurrentTransactions(err) && attempt < retries) {
          await new Promise((r) => setTimeout(r, 50 * (attempt + 1)));
          continue;
        }
        throw err;
      }
    }
  }

  /** Stops fetching, lets the batch in hand finish its transaction, then disconnects. */
  async stop(): Promise<void> {
    this.running = false;
    await this.consumer.disconnect();
    for (const p of this.producers) await p.disconnect();
  }
}
