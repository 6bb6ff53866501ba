import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKafka } from '@sluice/kafka';
import { createMetricsRegistry, type Logger, startOpsServer } from '@sluice/observability';
import { Gauge } from 'prom-client';
import { createApiHandler } from './api';
import type { RegistryServiceConfig } from './config';
import { SchemaLog } from './log';
import { SchemaStore } from './store';

export interface RunningRegistry {
  port: number;
  /** Base URL of the API, e.g. for SCHEMA_REGISTRY_URL. */
  url: string;
  /** Stops taking requests, then stops tailing and producing. */
  stop(): Promise<void>;
}

/**
 * Starts one registry instance: loads the schema log, then listens. Several
 * instances over the same topic agree on every id (see docs/decisions/0100).
 */
export async function startSchemaRegistry(config: RegistryServiceConfig, log: Logger): Promise<RunningRegistry> {
  const kafka = createKafka(config.kafka, log);
  const schemaLog = new SchemaLog(
    kafka,
    { topicPrefix: config.kafka.topicPrefix, writeTimeoutMs: config.writeTimeoutMs },
    log.child({ component: 'schema-log' }),
  );
  await schemaLog.start();
  const stops: (() => Promise<void>)[] = [() => schemaLog.stop()];
  const stopAll = async () => {
    for (const stop of stops.splice(0).reverse()) {
      try {
        await stop();
      } catch (err) {
        log.error({ err }, 'failed to stop cleanly');
      }
    }
  };

  try {
    const metrics = createMetricsRegistry('schema-registry');
    new Gauge({
      name: 'sluice_schema_registry_schemas',
      help: 'Distinct schemas (ids) known',
      registers: [metrics],
      collect() {
        this.set(schemaLog.state.counts().schemas);
      },
    });
    new Gauge({
      name: 'sluice_schema_registry_subjects',
      help: 'Subjects with at least one live version',
      registers: [metrics],
      collect() {
        this.set(schemaLog.state.counts().subjects);
      },
    });
    new Gauge({
      name: 'sluice_schema_registry_log_offset',
      help: 'Next offset of the schema log this instance will apply',
      registers: [metrics],
      collect() {
        this.set(Number(schemaLog.appliedOffset));
      },
    });

    const store = new SchemaStore(schemaLog);
    const handler = createApiHandler({
      store,
      log: log.child({ component: 'api' }),
      metrics,
      ready: () => schemaLog.isReady(),
    });
    const server = http.createServer(handler);
    server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    stops.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeIdleConnections();
        }),
    );
    if (config.metricsPort !== undefined) {
      const ops = await startOpsServer(config.metricsPort, metrics, () => schemaLog.isReady(), config.host);
      stops.push(() => ops.close());
    }
    const port = (server.address() as AddressInfo).port;
    log.info({ port, host: config.host, topic: schemaLog.topic }, 'schema registry listening');
    return { port, url: `http://${config.host}:${port}`, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
