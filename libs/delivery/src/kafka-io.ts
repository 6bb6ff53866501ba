import type { KafkaMessage, Producer } from 'kafkajs';
import { AvroSerde, SerdeError } from '@sluice/serde';
import type { RecordDecoder } from './consumer';
import type { DeadLetterRecord, DeadLetterSink, IncomingRecord } from './types';

/** The Avro record of schemas/avro/delivery-envelope.avsc. */
export interface DeliveryEnvelope {
  destinationId: string;
  sourceId: string;
  messageId: string;
  partitionKey: string;
  acceptedAt: number;
  payload: string;
}

/**
 * Decodes DeliveryEnvelope records. A record that is not valid Avro becomes a
 * poison record (dead-lettered with its bytes); a registry that cannot be
 * reached throws a retriable error so the batch waits.
 */
export function deliveryEnvelopeDecoder(serde: AvroSerde): RecordDecoder {
  return async (m: KafkaMessage): Promise<IncomingRecord> => {
    const key = m.key ? m.key.toString('utf8') : '';
    if (!m.value) {
      return { offset: m.offset, key, poison: { error: 'record has no value', raw: Buffer.alloc(0) } };
    }
    try {
      const env = await serde.decode<DeliveryEnvelope>(m.value, 'delivery-envelope');
      return {
        offset: m.offset,
        key: key || env.partitionKey,
        envelope: {
          sourceId: env.sourceId,
          messageId: env.messageId,
          payload: env.payload,
          acceptedAt: Number(env.acceptedAt),
        },
      };
    } catch (err) {
      if (err instanceof SerdeError && err.retriable) throw err;
      return { offset: m.offset, key, poison: { error: (err as Error).message, raw: m.value } };
    }
  };
}

/** Dead letters as Avro DeadLetter records, keyed by user, acks=all. */
export function kafkaDeadLetterSink(producer: Producer, serde: AvroSerde, topic: string): DeadLetterSink {
  return {
    async write(records: DeadLetterRecord[]): Promise<void> {
      await producer.send({
        topic,
        acks: -1,
        messages: records.map((r) => ({
          key: r.partitionKey ?? null,
          value: serde.encode(topic, 'dead-letter', r),
        })),
      });
    },
  };
}
