import { Kafka, Partitioners } from 'kafkajs';
import {
  createDurableProducer,
  loadPlatformatic,
  platformaticConnectionOptions,
  platformaticPartitioner,
} from '@sluice/kafka';
import type { RecordSink } from './batcher';
import type { GatewayConfig } from './config';

/** A produce path for the batcher: acks=all sends of one topic's records. */
export interface ProducerSink extends RecordSink {
  /** Produce calls the sink lets the batcher keep in flight. */
  readonly inflight: number;
  close(): Promise<void>;
}

/** KafkaJS: the idempotent producer of @sluice/kafka, or a pipelined one (decision 0502). */
export async function kafkajsSink(kafka: Kafka, topic: string, config: GatewayConfig): Promise<ProducerSink> {
  const inflight = config.kafkaIdempotent ? 1 : config.maxInflightSends;
  const producer = config.kafkaIdempotent
    ? createDurableProducer(kafka)
    : kafka.producer({
        idempotent: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        maxInFlightRequests: inflight,
        allowAutoTopicCreation: false,
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 2000 },
      });
  await producer.connect();
  const timeout = Math.max(1000, config.ackDeadlineMs);
  return {
    inflight,
    async send(records) {
      await producer.send({ topic, acks: -1, timeout, messages: records });
    },
    close: () => producer.disconnect(),
  };
}

// The subset of @platformatic/kafka (an ES module) the gateway uses.
interface PlatformaticProducer {
  send(options: { messages: { topic: string; key: Buffer; value: Buffer }[]; acks: number }): Promise<unknown>;
  close(force?: boolean): Promise<void>;
}
interface PlatformaticModule {
  Producer: new (options: Record<string, unknown>) => PlatformaticProducer;
}

/**
 * @platformatic/kafka: a pure-JS client that encodes records several times faster than
 * KafkaJS (see BENCHMARKS.md). acks=all, not idempotent, Kafka's partitioner.
 */
export async function platformaticSink(topic: string, config: GatewayConfig): Promise<ProducerSink> {
  const { Producer } = loadPlatformatic<PlatformaticModule>();
  const producer = new Producer({
    ...platformaticConnectionOptions(config.kafka),
    autocreateTopics: false,
    idempotent: false,
    maxInflights: config.maxInflightSends,
    timeout: Math.max(1000, config.ackDeadlineMs),
    retries: 3,
    retryDelay: 250,
    partitioner: platformaticPartitioner,
  });
  return {
    inflight: config.maxInflightSends,
    async send(records) {
      const messages = new Array<{ topic: string; key: Buffer; value: Buffer }>(records.length);
      for (let i = 0; i < records.length; i++) {
        messages[i] = { topic, key: Buffer.from(records[i].key), value: records[i].value };
      }
      await producer.send({ messages, acks: -1 });
    },
    close: () => producer.close(),
  };
}
