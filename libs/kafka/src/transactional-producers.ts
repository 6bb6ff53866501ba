import type { Kafka, Message, Producer, Transaction } from 'kafkajs';
import type { KafkaConfig } from '@sluice/config';
import { loadPlatformatic, platformaticConnectionOptions, platformaticPartitioner } from './platformatic';

export interface OutputRecord {
  topic: string;
  message: Message;
}

/** Where a batch came from: its offsets are committed in the batch's transaction. */
export interface ConsumedPosition {
  groupId: string;
  topic: string;
  partition: number;
  /** The last consumed offset of the batch; the committed offset is the next one. */
  lastOffset: string;
}

/**
 * One transactional producer: commits a batch's output records and its consumed
 * offsets in one Kafka transaction, or neither.
 */
export interface TransactionalProducer {
  connect(): Promise<void>;
  commitBatch(records: OutputRecord[], position: ConsumedPosition): Promise<void>;
  disconnect(): Promise<void>;
}

export interface TransactionalProducerOptions {
  transactionalId: string;
  transactionTimeoutMs: number;
  /** Bytes of output records per produce request inside a transaction. */
  maxProduceBytes: number;
}

/**
 * Whether a Kafka error, from either client, carries one of these protocol errors (by name or by
 * code), looking through the wrappers both clients put around the broker's answers.
 */
function carriesKafkaError(err: unknown, names: ReadonlySet<string>, codes: ReadonlySet<number>, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as {
    apiId?: unknown;
    type?: unknown;
    response?: { errorCode?: unknown };
    errors?: unknown;
    cause?: unknown;
  };
  if (names.has(String(e.apiId)) || names.has(String(e.type))) return true;
  if (typeof e.response?.errorCode === 'number' && codes.has(e.response.errorCode)) return true;
  if (Array.isArray(e.errors) && e.errors.some((inner) => carriesKafkaError(inner, names, codes, depth + 1)))
    return true;
  return carriesKafkaError(e.cause, names, codes, depth + 1);
}

const FENCED = new Set(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']);
const FENCED_CODES = new Set([47, 90]);

/**
 * The broker refused a transaction because another producer took over its transactional id
 * (a newer instance with the same id): fatal for this producer, whichever client raised it.
 */
export const isFencedError = (err: unknown): boolean => carriesKafkaError(err, FENCED, FENCED_CODES);

const CONCURRENT = new Set(['CONCURRENT_TRANSACTIONS']);
const CONCURRENT_CODES = new Set([51]);

/**
 * The transaction coordinator was still finishing this producer's previous transaction: the
 * next attempt succeeds once it has. KafkaJS does not retry this itself (kafkajs#430), and
 * @platformatic/kafka gives up after its own retries.
 */
export const isConcurrentTransactionsError = (err: unknown): boolean =>
  carriesKafkaError(err, CONCURRENT, CONCURRENT_CODES);

/**
 * For a failed abort: a fenced one is the error to report (this producer can never commit again,
 * and the stage exits on it); any other is dropped in favour of the error that led to the abort.
 */
function rethrowIfFenced(abortErr: unknown): void {
  if (isFencedError(abortErr)) throw abortErr;
}

/** Which client commits the transactions (decision 0307). */
export type TransactionalClient = 'platformatic' | 'kafkajs';

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

/** KafkaJS's transactional producer: the reference path, slower at encoding records. */
export function kafkajsTransactionalProducer(kafka: Kafka, opts: TransactionalProducerOptions): TransactionalProducer {
  const producer: Producer = kafka.producer({
    transactionalId: opts.transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    transactionTimeout: opts.transactionTimeoutMs,
  });
  return {
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async commitBatch(records, position) {
      let tx: Transaction | undefined;
      try {
        tx = await producer.transaction();
        // One produce request per chunk: a whole batch's output for one partition could pass the
        // broker's message.max.bytes (1 MB by default), which is a non-retriable error.
        for (const chunk of chunkBySize(records, opts.maxProduceBytes)) {
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
          consumerGroupId: position.groupId,
          topics: [
            {
              topic: position.topic,
              partitions: [{ partition: position.partition, offset: (BigInt(position.lastOffset) + 1n).toString() }],
            },
          ],
        });
        await tx.commit();
      } catch (err) {
        if (tx?.isActive()) await tx.abort().catch(rethrowIfFenced);
        throw err;
      }
    },
  };
}

// The subset of @platformatic/kafka (an ES module, loaded with Node's require(esm)) used here.
interface PlatformaticMessage {
  topic: string;
  key?: Buffer;
  value?: Buffer;
  partition?: number;
}
interface PlatformaticOffsetMessage {
  topic: string;
  partition: number;
  offset: bigint;
  metadata: { consumer: { groupId: string; generationId: number; memberId: string; coordinatorId: number } };
}
interface PlatformaticTransaction {
  send(options: { messages: PlatformaticMessage[]; acks: number }): Promise<unknown>;
  addConsumer(consumer: { groupId: string }): Promise<void>;
  addOffset(message: PlatformaticOffsetMessage): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
  /** Forgets the transaction locally (the broker times it out): for when abort itself failed. */
  cancel(): Promise<void>;
  readonly completed: boolean;
}
interface PlatformaticProducer {
  beginTransaction(): Promise<PlatformaticTransaction>;
  close(force?: boolean): Promise<void>;
}
interface PlatformaticConsumer {
  findGroupCoordinator(): Promise<number>;
  close(force?: boolean): Promise<void>;
}
interface PlatformaticModule {
  Producer: new (options: Record<string, unknown>) => PlatformaticProducer;
  Consumer: new (options: Record<string, unknown>) => PlatformaticConsumer;
}

const asBuffer = (v: Message['key']): Buffer | undefined =>
  v === null || v === undefined ? undefined : typeof v === 'string' ? Buffer.from(v) : v;

/**
 * @platformatic/kafka's transactional producer: encodes records several times faster than
 * KafkaJS (decision 0307). The consumed offsets are committed with TxnOffsetCommit to the
 * group's coordinator, found once; the consumer group itself stays with KafkaJS, so the
 * offset commit carries no generation (as KafkaJS's own sendOffsets) and zombies are fenced by
 * the transactional id's epoch.
 */
export function platformaticTransactionalProducer(
  config: KafkaConfig,
  groupId: string,
  opts: TransactionalProducerOptions,
): TransactionalProducer {
  const { Producer, Consumer } = loadPlatformatic<PlatformaticModule>();
  const producer = new Producer({
    ...platformaticConnectionOptions(config),
    transactionalId: opts.transactionalId,
    idempotent: true,
    // InitProducerId with no known producer: the broker assigns the id and bumps the epoch,
    // fencing a previous holder of this transactional id.
    producerId: -1n,
    producerEpoch: -1,
    autocreateTopics: false,
    // InitProducerId sends the client's request timeout as the transaction timeout.
    timeout: opts.transactionTimeoutMs,
    retries: 8,
    retryDelay: 100,
    partitioner: platformaticPartitioner,
  });
  let coordinatorId: number | undefined;
  const findCoordinator = async (): Promise<number> => {
    const probe = new Consumer({ ...platformaticConnectionOptions(config), groupId });
    try {
      return await probe.findGroupCoordinator();
    } finally {
      await probe.close(true).catch(() => undefined);
    }
  };
  return {
    async connect() {
      coordinatorId = await findCoordinator();
      // Beginning a transaction runs InitProducerId for the transactional id, which fences an earlier
      // holder now (as KafkaJS's connect does) rather than at this instance's first batch; nothing
      // was sent in it, so it is only dropped locally.
      const tx = await producer.beginTransaction();
      await tx.cancel();
    },
    disconnect: () => producer.close(),
    async commitBatch(records, position) {
      coordinatorId ??= await findCoordinator();
      const tx = await producer.beginTransaction();
      try {
        for (const chunk of chunkBySize(records, opts.maxProduceBytes)) {
          const messages = new Array<PlatformaticMessage>(chunk.length);
          for (let i = 0; i < chunk.length; i++) {
            const { topic, message } = chunk[i];
            const value = message.value;
            messages[i] = {
              topic,
              key: asBuffer(message.key),
              value:
                value === null || value === undefined
                  ? undefined
                  : typeof value === 'string'
                    ? Buffer.from(value)
                    : value,
              ...(typeof message.partition === 'number' ? { partition: message.partition } : {}),
            };
          }
          await tx.send({ messages, acks: -1 });
        }
        await tx.addConsumer({ groupId });
        await tx.addOffset({
          topic: position.topic,
          partition: position.partition,
          offset: BigInt(position.lastOffset),
          metadata: { consumer: { groupId, generationId: -1, memberId: '', coordinatorId } },
        });
        await tx.commit();
      } catch (err) {
        // A coordinator that moved is looked up again for the next attempt.
        coordinatorId = undefined;
        if (!tx.completed) {
          await tx.abort().catch(async (abortErr: unknown) => {
            await tx.cancel().catch(() => undefined);
            rethrowIfFenced(abortErr);
          });
        }
        throw err;
      }
    },
  };
}
