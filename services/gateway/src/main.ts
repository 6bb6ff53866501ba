import cluster from 'node:cluster';
import {
  createLogger,
  createMetricsRegistry,
  Lifecycle,
  serveMetricsToPrimary,
  startClusterPrimary,
  startOpsServer,
} from '@sluice/observability';
import { loadGatewayConfig } from './config';
import { setupKafka, startGateway } from './gateway';
import { WorkspaceSourceResolver } from './sources';

// The gateway: HTTP Event API → events.raw. WORKERS processes share the port (node:cluster).
async function main(): Promise<void> {
  const config = loadGatewayConfig(process.env);
  const role = cluster.isPrimary ? 'primary' : `worker-${cluster.worker?.id}`;
  const log = createLogger('gateway', config.logLevel).child({ role });
  const lifecycle = new Lifecycle(log);
  lifecycle.onSignals();

  if (config.workers <= 1) {
    const gw = await startGateway(config, log);
    lifecycle.add('gateway', () => gw.close());
    if (config.metricsPort > 0) {
      const ops = await startOpsServer(config.metricsPort, gw.registry, () => gw.ready(), config.host);
      lifecycle.add('ops', () => ops.close());
    }
    return;
  }

  if (cluster.isPrimary) {
    // An invalid workspace stops start-up here, instead of every worker dying and being restarted.
    await (await WorkspaceSourceResolver.open(config.workspaceFile, log)).close();
    // Topics and the schema once, before any worker takes traffic.
    await setupKafka(config, log);
    const primary = startClusterPrimary(config.workers, log);
    // Workers ask for the cluster-wide metrics to answer /metrics on the shared port.
    cluster.on('message', (worker, msg: { type?: string; id?: number }) => {
      if (msg?.type !== 'sluice:metrics') return;
      primary.aggregator.clusterMetrics().then(
        (body) =>
          worker.send({ type: 'sluice:metrics', id: msg.id, body, contentType: primary.aggregator.contentType }),
        (err: Error) => worker.send({ type: 'sluice:metrics', id: msg.id, error: err.message }),
      );
    });
    if (config.metricsPort > 0) {
      const ops = await startOpsServer(config.metricsPort, primary.metrics, () => true, config.host);
      lifecycle.add('ops', () => ops.close());
    }
    lifecycle.add('workers', primary.stopWorkers);
    log.info({ workers: config.workers, port: config.port }, 'gateway primary started');
    return;
  }

  // A worker.
  let nextId = 0;
  const waiting = new Map<number, (r: { body?: string; contentType?: string; error?: string }) => void>();
  process.on('message', (msg: { type?: string; id?: number; body?: string; contentType?: string; error?: string }) => {
    if (msg?.type !== 'sluice:metrics' || msg.id === undefined) return;
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  // The primary collects every worker's series from this registry.
  const registry = createMetricsRegistry('gateway');
  serveMetricsToPrimary(registry);
  const gw = await startGateway(config, log, {
    skipSetup: true,
    registry,
    metricsText: (registry) => {
      return new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, (r) =>
          r.error || r.body === undefined
            ? reject(new Error(r.error ?? 'no metrics'))
            : resolve({ contentType: r.contentType ?? registry.contentType, body: r.body }),
        );
        process.send?.({ type: 'sluice:metrics', id });
      });
    },
  });
  lifecycle.add('gateway', () => gw.close());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
