import type { Admin, Kafka } from 'kafkajs';
import { toEnvelope } from '@sluice/events';
import { createKafka, ensureTopics, topicName, TOPICS } from '@sluice/kafka';
import { createMetricsRegistry, Logger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import type { Registry } from 'prom-client';
import { ProduceBatcher } from './batcher';
import { kafkajsSink, platformaticSink, ProducerSink } from './producer';
import { startEncoderPool } from './encoder-pool';
import type { GatewayConfig } from './config';
import { GatewayMetrics } from './metrics';
import { closeServer, createGatewayServer, EventEncoder, KafkaHealth, listen } from './server';
import { SourceResolver, WorkspaceSourceResolver } from './sources';

export interface Gateway {
  port: number;
  url: string;
  topic: string;
  registry: Registry;
  ready(): boolean;
  /** SIGTERM path: stop accepting, answer in-flight requests, flush the producer, disconnect. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Instead of the workspace file (tests, embedding). */
  sources?: SourceResolver;
  /** Metrics text for /metrics; defaults to this process's registry (cluster workers pass the aggregate). */
  metricsText?: (registry: Registry) => Promise<{ contentType: string; body: string }>;
  /** Skip topic creation (the cluster primary did it). */
  skipSetup?: boolean;
  /** The Prometheus registry to fill (a cluster worker creates it early for the aggregator). */
  registry?: Registry;
}

/** Creates events.raw if missing and registers the envelope schema under its subject. */
export async function setupKafka(config: GatewayConfig, log: Logger): Promise<void> {
  const kafka = createKafka(config.kafka, log);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [TOPICS.eventsRaw], config.kafka.topicPrefix);
  } finally {
    await admin.disconnect();
  }
}

/**
 * Probes Kafka (metadata of events.raw, every partition with a leader) on an
 * interval; a failed produce call marks it unready at once and probes again.
 */
export class KafkaProbe implements KafkaHealth {
  private ok = false;
  private timer: NodeJS.Timeout | undefined;
  private probing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly admin: Admin,
    private readonly topic: string,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly metrics: GatewayMetrics,
  ) {}

  ready(): boolean {
    return this.ok;
  }

  private set(ok: boolean, why?: string): void {
    if (ok !== this.ok)
      this.log[ok ? 'info' : 'warn']({ topic: this.topic, why }, ok ? 'kafka ready' : 'kafka not ready');
    this.ok = ok;
    this.metrics.kafkaReady.set(ok ? 1 : 0);
  }

  failed(err: Error): void {
    this.set(false, err.message);
    void this.probe();
  }

  succeeded(): void {
    if (!this.ok && !this.probing) void this.probe();
  }

  probe(): Promise<void> {
    if (this.probing) return this.probing;
    this.probing = (async () => {
      const timeout = Math.max(1000, Math.min(5000, this.intervalMs));
      let timer: NodeJS.Timeout | undefined;
      try {
        const meta = await Promise.race([
          this.admin.fetchTopicMetadata({ topics: [this.topic] }),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer in ${timeout} ms`)), timeout);
          }),
        ]);
        const parts = meta.topics[0]?.partitions ?? [];
        const leaderless = parts.filter((p) => p.leader < 0).length;
        if (parts.length === 0 || leaderless > 0) this.set(false, `${leaderless} partitions without a leader`);
        else this.set(true);
      } catch (err) {
        this.set(false, (err as Error).message);
      } finally {
        clearTimeout(timer);
        this.probing = undefined;
      }
    })();
    return this.probing;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      void this.probe().finally(() => {
        if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}

/**
 * Starts one gateway in this process: Kafka producer, schema binding, the
 * batcher, the HTTP server and the readiness probe.
 */
export async function startGateway(config: GatewayConfig, log: Logger, opts: StartOptions = {}): Promise<Gateway> {
  const topic = topicName(config.kafka.topicPrefix, TOPICS.eventsRaw.name);
  if (!opts.skipSetup) await setupKafka(config, log);

  const registry = opts.registry ?? createMetricsRegistry('gateway');
  const metrics = new GatewayMetrics(registry);
  const sources =
    opts.sources ?? (await WorkspaceSourceResolver.open(config.workspaceFile, log, config.workspaceReloadMs));

  const serde = new AvroSerde(config.registry);
  await serde.bindTopic(topic, 'event-envelope');
  const encode: EventEncoder = (event, sourceId, requestIp) =>
    serde.encode(topic, 'event-envelope', toEnvelope(event, { sourceId, requestIp }));

  const kafka: Kafka = createKafka(config.kafka, log);
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  const sink: ProducerSink =
    config.kafkaProducer === 'platformatic' && !config.kafkaIdempotent
      ? await platformaticSink(topic, config)
      : await kafkajsSink(kafka, topic, config);
  log.info(
    { producer: config.kafkaIdempotent ? 'kafkajs-idempotent' : config.kafkaProducer, inflight: sink.inflight },
    'producer ready',
  );

  const encoder =
    config.encoderThreads > 0 ? await startEncoderPool(config.encoderThreads, { topic, config }, log) : undefined;

  const probe = new KafkaProbe(admin, topic, config.healthProbeMs, log, metrics);
  const batcher = new ProduceBatcher(
    sink,
    {
      lingerMs: config.lingerMs,
      maxSendBytes: config.maxSendBytes,
      deadlineMs: config.ackDeadlineMs,
      maxInflightSends: sink.inflight,
    },
    (s) => {
      metrics.produceLatency.observe({ outcome: s.ok ? 'ok' : 'error' }, s.ms / 1000);
      metrics.produceBatchRecords.observe(s.records);
      if (s.ok) probe.succeeded();
      else {
        log.warn({ topic, records: s.records, err: s.error?.message }, 'produce failed');
        probe.failed(s.error ?? new Error('produce failed'));
      }
    },
  );
  await probe.probe();
  probe.start();

  const metricsText =
    opts.metricsText ?? (async (r: Registry) => ({ contentType: r.contentType, body: await r.metrics() }));
  const server = createGatewayServer({
    config,
    log,
    sources,
    encode,
    encoder,
    batcher,
    health: probe,
    metrics,
    metricsText: () => metricsText(registry),
  });
  const port = await listen(server, config.port, config.host);
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info({ port, topic }, 'gateway listening');

  let closing: Promise<void> | undefined;
  return {
    port,
    url: `http://${host}:${port}`,
    topic,
    registry,
    ready: () => probe.ready(),
    close: () => {
      closing ??= (async () => {
        await closeServer(server, config.ackDeadlineMs + 1000);
        await batcher.close();
        await encoder?.close();
        probe.stop();
        await sink.close();
        await admin.disconnect();
        if (!opts.sources) await sources.close();
        log.info('gateway stopped');
      })();
      return closing;
    },
  };
}
