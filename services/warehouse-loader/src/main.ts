import cluster from 'node:cluster';
import { createLogger, Lifecycle, startClusterPrimary, startOpsServer } from '@sluice/observability';
import { createKafka } from '@sluice/kafka';
import { loadLoaderConfig } from './config';
import { ensureLoaderTopics, startLoader } from './loader';

// The warehouse loader: sluice.events.processed → Delta/Parquet (and warehouses). With
// LOADER_WORKERS > 1 the instance is a node:cluster primary and that many loader processes.
async function main(): Promise<void> {
  const config = loadLoaderConfig(process.env);
  const clustered = config.workers > 1;
  const role = !clustered ? undefined : cluster.isPrimary ? 'primary' : `worker-${cluster.worker?.id}`;
  const base = createLogger('warehouse-loader', config.observability.logLevel);
  const log = role ? base.child({ role, pid: process.pid }) : base;
  const lifecycle = new Lifecycle(log);
  lifecycle.onSignals();

  if (clustered && cluster.isPrimary) {
    await ensureLoaderTopics(createKafka(config.kafka, log), config.kafka.topicPrefix);
    const primary = startClusterPrimary(config.workers, log);
    const ops = await startOpsServer(config.observability.metricsPort, primary.metrics, primary.ready);
    lifecycle.add('ops-server', () => ops.close());
    lifecycle.add('workers', primary.stopWorkers);
    log.info({ workers: config.workers, metricsPort: ops.port }, 'warehouse loader primary started');
    return;
  }
  await startLoader(config, log, lifecycle, { clusterWorker: clustered });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
