import { ConfigError } from '@sluice/config';
import { createLogger, createMetricsRegistry, Lifecycle, startOpsServer } from '@sluice/observability';
import { WorkspaceStore, type KafkaSource } from '@sluice/workspace';
import { loadKafkaSourceConfig } from './config';
import { createKafkaSourceMetrics, startKafkaSources } from './source';

async function main(): Promise<void> {
  const config = loadKafkaSourceConfig(process.env);
  const log = createLogger('kafka-source', config.observability.logLevel);
  const lifecycle = new Lifecycle(log);
  lifecycle.onSignals();
  const workspace = await WorkspaceStore.open(config.workspaceFile, { log: log.child({ component: 'workspace' }) });
  lifecycle.add('workspace', async () => workspace.close());
  const all = [...workspace.current().sourceById.values()].filter(
    (s): s is KafkaSource => s.type === 'kafka' && s.enabled,
  ) as KafkaSource[];
  const unknown = (config.only ?? []).filter((id) => !all.some((s) => s.id === id));
  if (unknown.length > 0)
    throw new ConfigError('kafka-source', [`KAFKA_SOURCE_IDS: unknown ids ${unknown.join(', ')}`]);
  const sources = config.only ? all.filter((s) => config.only!.includes(s.id)) : all;
  const registry = createMetricsRegistry('kafka-source');
  let started = false;
  const ops = await startOpsServer(config.observability.metricsPort, registry, () => started);
  lifecycle.add('ops server', () => ops.close());
  const running = await startKafkaSources(config, sources, {
    log,
    metrics: createKafkaSourceMetrics(registry),
    // A newer instance with this instance id fenced us: leave the groups so it gets every partition.
    onFatal: () =>
      lifecycle.fatal('another kafka source took over this instance id; exiting', { instanceId: config.instanceId }),
  });
  lifecycle.add('kafka sources', () => running.stop());
  started = true;
  log.info({ metricsPort: ops.port, sources: running.sources }, 'kafka source ready');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
