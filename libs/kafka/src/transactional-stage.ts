import type { Consumer, Kafka } from 'kafkajs';
import type { KafkaConfig } from '@sluice/config';
import type { Logger } from '@sluice/observability';
import type { BatchContext, ConsumedBatch } from './batch-consumer';
import { createPipelineConsumer } from './client';
import {
  isConcurrentTransactionsError,
  isFencedError,
  kafkajsTransactionalProducer,
  OutputRecord,
  platformaticTransactionalProducer,
  TransactionalClient,
  TransactionalProducer,
  type ConsumedPosition,
} from './transactional-producers';

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
  /**
   * The client that commits transactions (default KafkaJS; the processor chooses platformatic).
   * `platformatic` needs the connection settings in `kafkaConfig` (decision 0307).
   */
  transactionalClient?: TransactionalClient;
  kafkaConfig?: KafkaConfig;
  /**
   * Another instance took over this stage's transactional id: nothing this instance handles can
   * commit any more. The service should stop and exit so the group gives its partitions away.
   */
  onFenced?: (err: unknown) => void;
}

/**
 * Consume → handle → produce exactly once: a batch's output records and its
 * input offsets are committed in one Kafka transaction, and downstream readers
 * use read_committed. A crash anywhere either commits both or neither.
 */
export class TransactionalStage {
  private readonly consumer: Consumer;
  private readonly producers: TransactionalProducer[];
  /** Producers not committing a batch now; KafkaJS runs at most `concurrency` batches at once. */
  private readonly idle: TransactionalProducer[];
  private running = false;

  constructor(
    kafka: Kafka,
    private readonly opts: TransactionalStageOptions,
    private readonly handler: StageHandler,
    private readonly log: Logger,
  ) {
    this.consumer = createPipelineConsumer(kafka, { ...opts, readCommitted: true });
    // Ids are stable per instance and slot, so a restarted instance fences its own zombies.
    this.producers = Array.from({ length: Math.max(1, opts.concurrency ?? 1) }, (_, slot) => {
      const producerOpts = {
        transactionalId: slot === 0 ? opts.transactionalId : `${opts.transactionalId}.${slot}`,
        transactionTimeoutMs: opts.transactionTimeoutMs ?? 30000,
        maxProduceBytes: opts.maxProduceBytes ?? 512 * 1024,
      };
      if (opts.transactionalClient !== 'platformatic') return kafkajsTransactionalProducer(kafka, producerOpts);
      if (!opts.kafkaConfig) throw new Error('transactionalClient platformatic needs kafkaConfig');
      return platformaticTransactionalProducer(opts.kafkaConfig, opts.groupId, producerOpts);
    });
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
        const producer = this.idle.pop();
        if (!producer) throw new Error('no idle transactional producer: more batches in flight than producers');
        try {
          await this.commitInTransaction(producer, records, {
            groupId: this.opts.groupId,
            topic: batch.topic,
            partition: batch.partition,
            lastOffset: last.offset,
          });
        } catch (err) {
          onAbort?.();
          if (isFencedError(err)) {
            this.log.error(
              { err, groupId: this.opts.groupId, transactionalId: this.opts.transactionalId },
              'fenced: another instance uses this transactional id',
            );
            this.opts.onFenced?.(err);
          }
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
    producer: TransactionalProducer,
    records: OutputRecord[],
    position: ConsumedPosition,
  ) {
    const retries = this.opts.transactionRetries ?? 10;
    for (let attempt = 0; ; attempt++) {
      try {
        await producer.commitBatch(records, position);
        return;
      } catch (err) {
        if (isConcurrentTransactionsError(err) && attempt < retries) {
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
