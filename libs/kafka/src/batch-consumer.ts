import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@sluice/observability';
import { createPipelineConsumer } from './client';

export interface ConsumedBatch {
  topic: string;
  partition: number;
  messages: KafkaMessage[];
}

export interface BatchContext {
  /** Call during long work so the group does not evict this member. */
  heartbeat(): Promise<void>;
  /** False once stop() was called: finish the batch at hand and return. */
  isRunning(): boolean;
}

/**
 * Resolves only once the batch's output is durable (produced with acks, or
 * committed to the lake). Throwing means "not durable": the offsets stay
 * uncommitted and the batch is consumed again.
 */
export type BatchHandler = (batch: ConsumedBatch, ctx: BatchContext) => Promise<void>;

export interface BatchConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning?: boolean;
  /** How many partitions are handled at once: the bound on in-flight batches. */
  partitionsConsumedConcurrently?: number;
  /** Upper bound on bytes fetched per partition per request: bounds in-flight memory. */
  maxBytesPerPartition?: number;
  sessionTimeoutMs?: number;
  /** Read only committed records of transactional producers. */
  readCommitted?: boolean;
}

/**
 * A consumer that commits a batch's offsets only after its handler resolved.
 * A crash before that commit means the batch is read again, never skipped.
 */
export class BatchConsumer {
  private readonly consumer: Consumer;
  private running = false;

  constructor(
    kafka: Kafka,
    private readonly opts: BatchConsumerOptions,
    private readonly handler: BatchHandler,
    private readonly log: Logger,
  ) {
    this.consumer = createPipelineConsumer(kafka, opts);
  }

  get raw(): Consumer {
    return this.consumer;
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    for (const topic of this.opts.topics) {
      await this.consumer.subscribe({ topic, fromBeginning: this.opts.fromBeginning ?? true });
    }
    this.running = true;
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
        if (batch.messages.length === 0 || isStale()) return;
        await this.handler(
          { topic: batch.topic, partition: batch.partition, messages: batch.messages },
          { heartbeat, isRunning: () => this.running && isRunning() },
        );
        const last = batch.messages[batch.messages.length - 1];
        resolveOffset(last.offset);
        await commitOffsetsIfNecessary({
          topics: [
            {
              topic: batch.topic,
              partitions: [{ partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }],
            },
          ],
        });
        await heartbeat();
      },
    });
    this.log.info({ groupId: this.opts.groupId, topics: this.opts.topics }, 'consumer started');
  }

  /** Stops fetching, lets the batch in hand finish and commit, then leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    await this.consumer.disconnect();
  }
}
