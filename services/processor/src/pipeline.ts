import type { KafkaMessage } from 'kafkajs';
import { envelopeJson, EventEnvelope, fromEnvelope, partitionKey, SegmentEvent, toEnvelope } from '@sluice/events';
import { ConsumedBatch, destinationTopic, OutputRecord, StageResult, TOPICS, topicName } from '@sluice/kafka';
import { CounterTally, type Logger } from '@sluice/observability';
import {
  DedupeChangelogEntry,
  DedupeIndex,
  encodeChangelogBatch,
  fanOutReadsFreeFormFields,
  planFanOut,
  SluiceEvent,
  TrackingPlanCompiler,
} from '@sluice/processing';
import type { AvroSerde } from '@sluice/serde';
import type { WorkspaceSnapshot } from '@sluice/workspace';
import type { ProcessorMetrics } from './metrics';
import type { TransformationRunner, TransformOutcome } from './transformations';

export interface PipelineDeps {
  serde: AvroSerde;
  dedupe: DedupeIndex;
  snapshot: () => WorkspaceSnapshot;
  transformations: TransformationRunner;
  metrics: ProcessorMetrics;
  log: Logger;
  topicPrefix: string;
  now?: () => number;
}

interface DeadLetterInput {
  stage: 'processor' | 'transformation';
  message: KafkaMessage;
  sourceTopic: string;
  partition: number;
  errorClass: string;
  errorMessage: string;
  sourceId?: string;
  destinationId?: string;
  messageId?: string;
  key?: string;
  payload?: Buffer;
  payloadFormat?: 'json' | 'avro';
}

/** One destination's deliveries of a batch that go through the same transformation. */
interface TransformGroup {
  transformationId: string;
  destinationId: string;
  destinationType: string;
  items: { event: SluiceEvent; sourceId: string; key: string; acceptedAt: number; message: KafkaMessage }[];
}

/**
 * events.raw → (dedupe, suppression, tracking plan, per-destination filters,
 * transformations) → events.processed, sluice.dest.<id>, identity.edges and
 * the dead-letter topic, plus one dedupe changelog record per batch. The records of one batch
 * are committed with its offsets in one transaction (TransactionalStage).
 */
export class ProcessorPipeline {
  private readonly compiler = new TrackingPlanCompiler();
  private readonly topics: {
    processed: string;
    edges: string;
    deadLetter: string;
    changelog: string;
  };
  /** Destination id → its topic: looked up per delivered event. */
  private readonly destinationTopics = new Map<string, string>();

  constructor(private readonly deps: PipelineDeps) {
    const p = deps.topicPrefix;
    this.topics = {
      processed: topicName(p, TOPICS.eventsProcessed.name),
      edges: topicName(p, TOPICS.identityEdges.name),
      deadLetter: topicName(p, TOPICS.deadLetter.name),
      changelog: topicName(p, TOPICS.dedupeChangelog.name),
    };
  }

  private deadLetter(input: DeadLetterInput): OutputRecord {
    const { serde } = this.deps;
    return {
      topic: this.topics.deadLetter,
      message: {
        key: input.key ?? input.message.key ?? null,
        value: serde.encode(this.topics.deadLetter, 'dead-letter', {
          stage: input.stage,
          sourceId: input.sourceId ?? null,
          destinationId: input.destinationId ?? null,
          messageId: input.messageId ?? null,
          partitionKey: input.key ?? input.message.key?.toString() ?? null,
          payload: input.payload ?? input.message.value ?? Buffer.alloc(0),
          payloadFormat: input.payloadFormat ?? 'avro',
          errorClass: input.errorClass,
          errorMessage: input.errorMessage,
          retriable: false,
          attempts: 1,
          lastStatus: null,
          firstAttemptAt: null,
          failedAt: (this.deps.now ?? Date.now)(),
          originalTopic: input.sourceTopic,
          originalPartition: input.partition,
          originalOffset: input.message.offset,
        }),
      },
    };
  }

  /**
   * `payload` is the event's JSON; an event no plan or transformation changed has it from the envelope.
   * `recordKey` is `key` as the consumed record's bytes, when it had a key: not encoded again.
   */
  private delivery(
    destinationId: string,
    sourceId: string,
    key: string,
    acceptedAt: number,
    messageId: string,
    payload: string,
    recordKey: Buffer | string = key,
  ) {
    let topic = this.destinationTopics.get(destinationId);
    if (topic === undefined) {
      topic = topicName(this.deps.topicPrefix, destinationTopic(destinationId).name);
      this.destinationTopics.set(destinationId, topic);
    }
    return {
      topic,
      message: {
        key: recordKey,
        value: this.deps.serde.encode(topic, 'delivery-envelope', {
          destinationId,
          sourceId,
          messageId,
          partitionKey: key,
          acceptedAt,
          payload,
        }),
      },
    };
  }

  async handleBatch(batch: ConsumedBatch): Promise<StageResult> {
    const { serde, dedupe, metrics } = this.deps;
    const now = (this.deps.now ?? Date.now)();
    const snapshot = this.deps.snapshot();
    const records: OutputRecord[] = [];
    const remembered: DedupeChangelogEntry[] = [];
    const groups = new Map<string, TransformGroup>();
    const tally = new CounterTally();

    for (const message of batch.messages) {
      if (!message.value) continue;
      let env: EventEnvelope;
      try {
        env =
          serde.decodeIfKnown<EventEnvelope>(message.value, 'event-envelope') ??
          (await serde.decode<EventEnvelope>(message.value, 'event-envelope'));
      } catch (err) {
        const e = err as Error & { retriable?: boolean };
        // A registry outage must not dead-letter good records: fail the batch and read it again.
        if (e.retriable) throw err;
        tally.add(metrics.deadLetters, { stage: 'processor', reason: 'undecodable' });
        records.push(
          this.deadLetter({
            stage: 'processor',
            message,
            sourceTopic: batch.topic,
            partition: batch.partition,
            errorClass: 'UndecodableRecord',
            errorMessage: e.message,
          }),
        );
        continue;
      }
      const sourceId = env.sourceId;
      let unchangedJson: string | undefined;
      // Where nothing reads properties, traits or context before delivery, they stay JSON text
      // until a transformation needs them; deliveries of the unchanged event reuse that text.
      const freeForm = fanOutReadsFreeFormFields(snapshot, sourceId);
      const event = fromEnvelope(env, { freeForm }) as SegmentEvent & SluiceEvent;
      const check = dedupe.check(batch.partition, sourceId, env.messageId, now);
      if (check.duplicate) {
        tally.add(metrics.events, { source: sourceId, outcome: 'duplicate' });
        continue;
      }
      remembered.push(check.entry);

      const plan = planFanOut(event, snapshot, sourceId, { compiler: this.compiler, nowMs: now });
      for (const v of plan.violations) tally.add(metrics.violations, { source: sourceId, rule: v.type });
      if (plan.kind === 'drop') {
        tally.add(metrics.events, { source: sourceId, outcome: `dropped-${plan.reason}` });
        continue;
      }
      tally.add(metrics.events, { source: sourceId, outcome: 'processed' });
      const key = message.key?.toString() ?? partitionKey(event);
      const recordKey = message.key ?? key;
      const processed = plan.processed.event as SegmentEvent;
      records.push({
        topic: this.topics.processed,
        message: {
          key: recordKey,
          // An event no plan changed is the record as read: the envelope round-trips exactly,
          // and the registry id in its header names the schema it was written with.
          value:
            processed === event
              ? message.value
              : serde.encode(
                  this.topics.processed,
                  'event-envelope',
                  toEnvelope(processed, { sourceId, requestIp: env.requestIp }),
                ),
        },
      });
      for (const edge of plan.identityEdges) {
        records.push({
          topic: this.topics.edges,
          message: {
            key: `${edge.rightType}:${edge.rightValue}`,
            value: serde.encode(this.topics.edges, 'identity-edge', {
              ...edge,
              observedAt: Date.parse(edge.observedAt),
            }),
          },
        });
      }
      for (const d of plan.destinations) {
        if (d.kind === 'filtered') {
          tally.add(metrics.filtered, { destination: d.destinationId, reason: d.reason });
          continue;
        }
        if (d.lake) continue;
        if (d.transformationId) {
          const gk = `${d.destinationId}\u0000${d.transformationId}`;
          let g = groups.get(gk);
          if (!g) {
            g = {
              transformationId: d.transformationId,
              destinationId: d.destinationId,
              destinationType: d.destinationType,
              items: [],
            };
            groups.set(gk, g);
          }
          const whole = d.event === event && !freeForm ? (fromEnvelope(env) as SluiceEvent) : d.event;
          g.items.push({ event: whole, sourceId, key, acceptedAt: env.receivedAt, message });
        } else {
          const payload = d.event === event ? (unchangedJson ??= envelopeJson(env)) : JSON.stringify(d.event);
          records.push(
            this.delivery(
              d.destinationId,
              sourceId,
              key,
              env.receivedAt,
              String(d.event.messageId ?? ''),
              payload,
              recordKey,
            ),
          );
          tally.add(metrics.routed, { destination: d.destinationId });
        }
      }
    }

    tally.flush();
    for (const g of groups.values()) records.push(...(await this.transformGroup(g, batch)));
    if (remembered.length > 0) {
      records.push({
        topic: this.topics.changelog,
        message: {
          // Unique per batch, and the same when an aborted batch is read again.
          key: `b:${batch.messages[0].offset}`,
          value: encodeChangelogBatch(remembered),
          partition: batch.partition,
        },
      });
    }

    return {
      records,
      onAbort: () => {
        for (const entry of remembered) dedupe.forget(entry);
      },
    };
  }

  private async transformGroup(g: TransformGroup, batch: ConsumedBatch): Promise<OutputRecord[]> {
    const out: OutputRecord[] = [];
    // Events of one source share metadata; a group rarely mixes sources, so split by source.
    const bySource = new Map<string, TransformGroup['items']>();
    for (const item of g.items) {
      const list = bySource.get(item.sourceId) ?? [];
      list.push(item);
      bySource.set(item.sourceId, list);
    }
    for (const [sourceId, items] of bySource) {
      const started = process.hrtime.bigint();
      let outcomes: TransformOutcome[];
      try {
        outcomes = await this.deps.transformations.run(
          g.transformationId,
          items.map((i) => i.event),
          { sourceId, destinationId: g.destinationId, destinationType: g.destinationType },
        );
      } catch (err) {
        outcomes = items.map(() => ({ kind: 'error' as const, message: (err as Error).message }));
      }
      this.deps.metrics.transformSeconds.observe(
        { transformation: g.transformationId },
        Number(process.hrtime.bigint() - started) / 1e9,
      );
      items.forEach((item, i) => {
        const o = outcomes[i] ?? { kind: 'error', message: 'transformation returned no outcome for this event' };
        if (o.kind === 'drop') {
          this.deps.metrics.filtered.inc({ destination: g.destinationId, reason: 'transformation' });
        } else if (o.kind === 'error') {
          this.deps.metrics.deadLetters.inc({ stage: 'transformation', reason: 'error' });
          out.push(
            this.deadLetter({
              stage: 'transformation',
              message: item.message,
              sourceTopic: batch.topic,
              partition: batch.partition,
              errorClass: 'TransformationError',
              errorMessage: `transformation ${g.transformationId} for destination ${g.destinationId}: ${o.message}`,
              sourceId,
              destinationId: g.destinationId,
              messageId: String(item.event.messageId ?? ''),
              key: item.key,
              payload: Buffer.from(JSON.stringify(item.event)),
              payloadFormat: 'json',
            }),
          );
        } else {
          for (const ev of o.events) {
            out.push(
              this.delivery(
                g.destinationId,
                sourceId,
                item.key,
                item.acceptedAt,
                String(ev.messageId ?? ''),
                JSON.stringify(ev),
              ),
            );
            this.deps.metrics.routed.inc({ destination: g.destinationId });
          }
        }
      });
    }
    return out;
  }
}
