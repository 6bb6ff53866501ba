import { partitionKey, toEnvelope } from '@sluice/events';
import {
  createKafka,
  ensureTopics,
  topicName,
  TOPICS,
  TransactionalStage,
  type ConsumedBatch,
  type OutputRecord,
} from '@sluice/kafka';
import type { Logger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import type { KafkaSource } from '@sluice/workspace';
import { Counter, type Registry } from 'prom-client';
import type { KafkaSourceConfig } from './config';
import { acceptRecordEvent, avroRecordToEvent, convertJson, type Converted, type RecordOrigin } from './convert';

export interface KafkaSourceMetrics {
  records: Counter<'source' | 'outcome'>;
}

export function createKafkaSourceMetrics(registry: Registry): KafkaSourceMetrics {
  return {
    records: new Counter({
      name: 'sluice_kafka_source_records_total',
      help: 'Records read from source topics by outcome (accepted, dead_letter)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
  };
}

/** The consumer group of one source (with the install's prefix). */
export function sourceGroupId(prefix: string, sourceId: string): string {
  return `${prefix}sluice-kafka-source.${sourceId}`;
}

/** A registry that cannot be reached is not the record's fault: the batch is read again. */
function isRegistryOutage(err: unknown): boolean {
  const text = `${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? String(err)} ${String((err as { cause?: unknown })?.cause ?? '')}`;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|timeout|fetch failed|\b5\d\d\b/i.test(
    text,
  );
}

export interface RunningKafkaSource {
  sources: string[];
  stop(): Promise<void>;
}

/**
 * One transactional stage per kafka source: read its topics, turn each record
 * into an EventEnvelope on events.raw (keyed by partitionKey) or a DeadLetter,
 * and commit the output with the input offsets in one transaction.
 */
export async function startKafkaSources(
  config: KafkaSourceConfig,
  sources: readonly KafkaSource[],
  deps: {
    log: Logger;
    metrics: KafkaSourceMetrics;
    now?: () => number;
    /** This instance can no longer commit (another took over its transactional ids): stop it. */
    onFatal?: (err: unknown) => void;
  },
): Promise<RunningKafkaSource> {
  const { log, metrics } = deps;
  const now = deps.now ?? Date.now;
  const prefix = config.kafka.topicPrefix;
  const kafka = createKafka(config.kafka, log);
  const rawTopic = topicName(prefix, TOPICS.eventsRaw.name);
  const deadLetterTopic = topicName(prefix, TOPICS.deadLetter.name);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [TOPICS.eventsRaw, TOPICS.deadLetter], prefix);
  } finally {
    await admin.disconnect();
  }
  const serde = new AvroSerde(config.registry);
  await serde.bindTopic(rawTopic, 'event-envelope');
  await serde.bindTopic(deadLetterTopic, 'dead-letter');

  const convert = async (source: KafkaSource, value: Buffer | null, origin: RecordOrigin): Promise<Converted> => {
    if (source.format === 'json') return convertJson(value, origin);
    if (value === null || value.length < 5 || value[0] !== 0) {
      return {
        ok: false,
        errorClass: 'UndecodableAvro',
        reason: 'value is not in the Confluent wire format (magic byte 0, schema id)',
      };
    }
    let record: unknown;
    try {
      record = await serde.client.decode(value);
    } catch (err) {
      if (isRegistryOutage(err)) throw err;
      return { ok: false, errorClass: 'UndecodableAvro', reason: `cannot decode Avro: ${(err as Error).message}` };
    }
    const ev = avroRecordToEvent(record);
    if (typeof ev === 'string') return { ok: false, errorClass: 'UndecodableAvro', reason: ev };
    return acceptRecordEvent(ev, origin);
  };

  const handlerFor = (source: KafkaSource) => async (batch: ConsumedBatch) => {
    const out: OutputRecord[] = [];
    let accepted = 0;
    let dead = 0;
    for (const m of batch.messages) {
      const origin: RecordOrigin = {
        sourceId: source.id,
        topic: batch.topic,
        partition: batch.partition,
        offset: m.offset,
        receivedAt: now(),
      };
      const r = await convert(source, m.value, origin);
      if (r.ok) {
        const key = partitionKey(r.event);
        out.push({
          topic: rawTopic,
          message: {
            key,
            value: serde.encode(rawTopic, 'event-envelope', toEnvelope(r.event, { sourceId: source.id })),
          },
        });
        accepted++;
      } else {
        const key = m.key ? m.key.toString('utf8') : null;
        out.push({
          topic: deadLetterTopic,
          message: {
            key,
            value: serde.encode(deadLetterTopic, 'dead-letter', {
              stage: 'source',
              sourceId: source.id,
              destinationId: null,
              messageId: null,
              partitionKey: key,
              payload: m.value ?? Buffer.alloc(0),
              payloadFormat: source.format === 'avro' ? 'avro' : 'raw',
              errorClass: r.errorClass,
              errorMessage: r.reason,
              retriable: false,
              attempts: 1,
              lastStatus: null,
              firstAttemptAt: origin.receivedAt,
              failedAt: origin.receivedAt,
              originalTopic: batch.topic,
              originalPartition: batch.partition,
              originalOffset: m.offset,
            }),
          },
        });
        dead++;
      }
    }
    return {
      records: out,
      onCommit: () => {
        if (accepted) metrics.records.inc({ source: source.id, outcome: 'accepted' }, accepted);
        if (dead) metrics.records.inc({ source: source.id, outcome: 'dead_letter' }, dead);
      },
    };
  };

  const stages: TransactionalStage[] = [];
  const stopAll = async () => {
    await Promise.all(
      stages.map(async (s) => {
        try {
          await s.stop();
        } catch (err) {
          log.error({ err }, 'kafka source stage did not stop cleanly');
        }
      }),
    );
  };
  try {
    for (const source of sources) {
      const groupId = sourceGroupId(prefix, source.id);
      const stage = new TransactionalStage(
        kafka,
        {
          groupId,
          topics: [...source.topics],
          transactionalId: `${groupId}-${config.instanceId}`,
          fromBeginning: true,
          maxBytesPerPartition: config.maxBytesPerPartition,
          sessionTimeoutMs: config.sessionTimeoutMs,
          transactionTimeoutMs: config.transactionTimeoutMs,
          onFenced: (err) => deps.onFatal?.(err),
        },
        handlerFor(source),
        log.child({ sourceId: source.id }),
      );
      stages.push(stage);
      await stage.start();
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  log.info({ sources: sources.map((s) => s.id) }, 'kafka sources started');
  return { sources: sources.map((s) => s.id), stop: stopAll };
}
