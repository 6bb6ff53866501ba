import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import { createDurableProducer, ensureTopics, TOPICS, topicName, type TopicSpec } from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import { errors } from './errors';
import { decodeRecord, encodeRecord, type LogRecord, type Outcome, recordKey, RegistryState } from './state';

export interface SchemaLogOptions {
  topicPrefix: string;
  /** How long a write waits for its record to come back through the tail. */
  writeTimeoutMs: number;
  /** Override of the topic spec (tests); defaults to TOPICS.schemas. */
  topic?: TopicSpec;
}

interface Waiter {
  offset: bigint;
  resolve: () => void;
}

/**
 * The registry's store: a single-partition compacted topic, read from the
 * beginning into a `RegistryState` and tailed for as long as the instance
 * runs. A write is produced (acks=all) and answered with the outcome its
 * record had when this instance's tail applied it, in log order.
 */
export class SchemaLog {
  readonly state = new RegistryState();
  readonly topic: string;
  private readonly spec: TopicSpec;
  private readonly admin: Admin;
  private readonly producer: Producer;
  private readonly consumer: Consumer;
  /** Offset of the next record the tail will apply. */
  private nextOffset = 0n;
  private offsetWaiters: Waiter[] = [];
  private readonly pending = new Map<string, (outcome: Outcome) => void>();
  private started = false;
  private failed: Error | undefined;

  constructor(
    kafka: Kafka,
    private readonly opts: SchemaLogOptions,
    private readonly log: Logger,
  ) {
    this.spec = opts.topic ?? TOPICS.schemas;
    this.topic = topicName(opts.topicPrefix, this.spec.name);
    this.admin = kafka.admin();
    this.producer = createDurableProducer(kafka);
    // Every instance reads the whole log, so each has its own group and never commits.
    this.consumer = kafka.consumer({
      groupId: `${opts.topicPrefix}sluice-schema-registry-${randomUUID()}`,
      allowAutoTopicCreation: false,
      maxWaitTimeInMs: 500,
      sessionTimeout: 30000,
      heartbeatInterval: 3000,
    });
  }

  get appliedOffset(): bigint {
    return this.nextOffset;
  }

  isReady(): boolean {
    return this.started && this.failed === undefined;
  }

  /** Creates the topic if missing, reads it to its end, then keeps tailing. */
  async start(): Promise<void> {
    await this.admin.connect();
    await ensureTopics(this.admin, [this.spec], this.opts.topicPrefix);
    await this.producer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    const joined = new Promise<void>((resolve) => {
      const off = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        off();
        resolve();
      });
    });
    this.consumer.on(this.consumer.events.CRASH, (event) => {
      const err = event.payload.error;
      this.log.error({ err, restart: event.payload.restart }, 'schema log tail crashed');
      if (!event.payload.restart) this.failed = err;
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat }) => {
        for (const message of batch.messages) {
          this.applyMessage(message.key, message.value, BigInt(message.offset));
        }
        await heartbeat();
      },
    });
    await joined;
    await this.sync(60000);
    this.started = true;
    this.log.info(
      { topic: this.topic, offset: this.nextOffset.toString(), ...this.state.counts() },
      'schema log loaded',
    );
  }

  private applyMessage(key: Buffer | null, value: Buffer | null, offset: bigint): void {
    if (offset < this.nextOffset) return;
    const keyText = key?.toString('utf8') ?? '';
    let record: LogRecord | undefined = decodeRecord(value);
    if (record === undefined && value === null && keyText.startsWith('config-')) {
      // A tombstone for a config key removes the setting.
      const subject = keyText === 'config-global' ? null : keyText.slice('config-subject:'.length);
      record = { type: 'config', requestId: '', subject, compatibility: null };
    }
    if (record === undefined) {
      if (value !== null) this.log.warn({ offset: offset.toString(), key: keyText }, 'skipping unreadable record');
    } else {
      const outcome = this.state.apply(record);
      const waiter = this.pending.get(record.requestId);
      if (waiter) {
        this.pending.delete(record.requestId);
        waiter(outcome);
      }
    }
    this.nextOffset = offset + 1n;
    if (this.offsetWaiters.length > 0) {
      const done = this.offsetWaiters.filter((w) => w.offset <= this.nextOffset);
      this.offsetWaiters = this.offsetWaiters.filter((w) => w.offset > this.nextOffset);
      for (const w of done) w.resolve();
    }
  }

  /** Resolves once the tail has applied everything that was in the log when it was called. */
  async sync(timeoutMs = this.opts.writeTimeoutMs): Promise<void> {
    let end: bigint;
    try {
      const offsets = await this.admin.fetchTopicOffsets(this.topic);
      end = BigInt(offsets.find((p) => p.partition === 0)?.high ?? '0');
    } catch (err) {
      throw errors.backend(`cannot read the end of ${this.topic}: ${(err as Error).message}`);
    }
    if (end <= this.nextOffset) return;
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { offset: end, resolve: () => (clearTimeout(timer), resolve()) };
      const timer = setTimeout(() => {
        this.offsetWaiters = this.offsetWaiters.filter((w) => w !== waiter);
        reject(errors.timeout(`the store did not catch up with ${this.topic} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.offsetWaiters.push(waiter);
    });
  }

  /** Produces `record` with acks=all and resolves with the outcome it had when applied. */
  async write(record: LogRecord): Promise<Outcome> {
    if (this.failed) throw errors.backend(`the schema log tail stopped: ${this.failed.message}`);
    const outcome = new Promise<Outcome>((resolve) => this.pending.set(record.requestId, resolve));
    try {
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [{ key: recordKey(record), value: encodeRecord(record) }],
      });
    } catch (err) {
      this.pending.delete(record.requestId);
      throw errors.backend(`cannot write to ${this.topic}: ${(err as Error).message}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.pending.delete(record.requestId);
        reject(errors.timeout(`the write was not read back from ${this.topic} within ${this.opts.writeTimeoutMs} ms`));
      }, this.opts.writeTimeoutMs);
    });
    try {
      return await Promise.race([outcome, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async stop(): Promise<void> {
    this.started = false;
    await this.consumer.disconnect();
    await this.producer.disconnect();
    await this.admin.disconnect();
  }
}
