import cluster from 'node:cluster';
import type { Logger } from 'pino';
import { AggregatorRegistry, PrometheusContentType, Registry } from 'prom-client';

const READY_MESSAGE = 'sluice:worker-ready';

export interface ClusterPrimary {
  /** prom-client's aggregator: asks every worker for its series and sums them. */
  aggregator: AggregatorRegistry<PrometheusContentType>;
  /** A registry for startOpsServer whose `/metrics` is the sum over the workers. */
  metrics: Registry;
  /** True while workers run and every one has reported ready (signalWorkerReady). */
  ready(): boolean;
  /** Sends each worker SIGTERM and resolves once all have exited; no worker is restarted after. */
  stopWorkers(): Promise<void>;
}

/**
 * The primary of a service that runs `count` copies of itself with node:cluster:
 * forks them and starts another when one dies (a crash must not leave the
 * service short of workers). The caller adds `stopWorkers` to its lifecycle
 * after what must outlive the workers' drain (its ops server).
 */
export function startClusterPrimary(count: number, log: Logger): ClusterPrimary {
  const aggregator = new AggregatorRegistry<PrometheusContentType>();
  const readyWorkers = new Set<number>();
  let stopping = false;
  const fork = () => cluster.fork();
  for (let i = 0; i < count; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    readyWorkers.delete(worker.id);
    if (stopping) return;
    log.error({ worker: worker.id, code, signal }, 'worker died; starting another');
    setTimeout(fork, 500);
  });
  cluster.on('message', (worker, msg: { type?: string }) => {
    if (msg?.type === READY_MESSAGE) readyWorkers.add(worker.id);
  });
  // startOpsServer wants a Registry; this view answers with the cluster's metrics.
  const metrics = Object.create(aggregator) as AggregatorRegistry<PrometheusContentType>;
  metrics.metrics = () => aggregator.clusterMetrics();
  const stopWorkers = async (): Promise<void> => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {});
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (!w || w.isDead()) return resolve();
            w.once('exit', () => resolve());
            w.process.kill('SIGTERM');
          }),
      ),
    );
  };
  return {
    aggregator,
    metrics,
    stopWorkers,
    ready: () => {
      const alive = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead()).length;
      return alive > 0 && readyWorkers.size >= alive;
    },
  };
}

/**
 * In a cluster worker: lets the primary collect this worker's series from
 * `registry`. Constructing an AggregatorRegistry installs prom-client's
 * worker-side listener; call it before anything slow, so a worker still
 * starting answers the primary too.
 */
export function serveMetricsToPrimary(registry: Registry): void {
  new AggregatorRegistry<PrometheusContentType>();
  AggregatorRegistry.setRegistries([registry]);
}

/** In a cluster worker: tells the primary this worker can take work (its readiness counts it). */
export function signalWorkerReady(): void {
  process.send?.({ type: READY_MESSAGE });
}
