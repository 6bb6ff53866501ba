import {
  Consumer,
  Kafka,
  KafkaConfig as KafkaJsConfig,
  logLevel,
  LogEntry,
  Partitioners,
  Producer,
  RetryOptions,
  SASLOptions,
} from 'kafkajs';
import type { KafkaConfig } from '@sluice/config';
import type { Logger } from '@sluice/observability';

const levelName: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** KafkaJS logs through the service's pino logger, one level down (its info is chatty). */
export function createKafka(config: KafkaConfig, log: Logger): Kafka {
  const kafkaLog = log.child({ component: 'kafkajs' });
  const opts: KafkaJsConfig = {
    clientId: config.clientId,
    brokers: config.brokers,
    ssl: config.ssl,
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 100, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const name = levelName[level] ?? 'debug';
        kafkaLog[name === 'info' ? 'debug' : name](rest, message);
      },
  };
  if (config.sasl) {
    opts.sasl = {
      mechanism: config.sasl.mechanism,
      username: config.sasl.username,
      password: config.sasl.password,
    } as SASLOptions;
  }
  return new Kafka(opts);
}

export interface DurableProducerOptions {
  /** Set for processors that hand off exactly once with Kafka transactions. */
  transactionalId?: string;
}

/**
 * acks=all and idempotence: a record is acknowledged only once every in-sync
 * replica has it, and producer retries never duplicate it.
 */
export function createDurableProducer(kafka: Kafka, opts: DurableProducerOptions = {}): Producer {
  return kafka.producer({
    // murmur2 on the key, as the Java client: a user lands on the same partition whichever client wrote.
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    transactionalId: opts.transactionalId,
    retry: { retries: 8, initialRetryTime: 100, maxRetryTime: 5000 },
  });
}

/** Prefix applied to every topic name (see KafkaConfig.topicPrefix). */
export function topicName(prefix: string, base: string): string {
  return `${prefix}${base}`;
}

export interface PipelineConsumerOptions {
  groupId: string;
  sessionTimeoutMs?: number;
  /** Upper bound on bytes fetched per partition per request: bounds in-flight memory. */
  maxBytesPerPartition?: number;
  /** Read only committed records of transactional producers (default true). */
  readCommitted?: boolean;
  retry?: RetryOptions;
}

/**
 * The consumer every pipeline stage uses: committed reads, no topic
 * auto-creation, heartbeats well inside the session timeout.
 */
export function createPipelineConsumer(kafka: Kafka, opts: PipelineConsumerOptions): Consumer {
  const sessionTimeout = opts.sessionTimeoutMs ?? 30000;
  return kafka.consumer({
    groupId: opts.groupId,
    sessionTimeout,
    heartbeatInterval: Math.min(3000, Math.floor(sessionTimeout / 3)),
    maxBytesPerPartition: opts.maxBytesPerPartition ?? 1024 * 1024,
    readUncommitted: !(opts.readCommitted ?? true),
    allowAutoTopicCreation: false,
    retry: opts.retry,
  });
}
