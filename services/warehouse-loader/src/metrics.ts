import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface LoaderMetrics {
  rowsLoaded: Counter<'table'>;
  batches: Counter<'outcome'>;
  commitSeconds: Histogram<string>;
  discards: Counter<string>;
  rejected: Counter<string>;
  lag: Gauge<'partition'>;
  buffered: Gauge<string>;
  identityEdges: Counter<'outcome'>;
  identityConflicts: Counter<string>;
}

export function createLoaderMetrics(registry: Registry): LoaderMetrics {
  return {
    rowsLoaded: new Counter({
      name: 'sluice_loader_rows_loaded_total',
      help: 'Rows committed per table',
      labelNames: ['table'],
      registers: [registry],
    }),
    batches: new Counter({
      name: 'sluice_loader_batches_total',
      help: 'Partition batches flushed, by outcome (committed, skipped, failed)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    commitSeconds: new Histogram({
      name: 'sluice_loader_commit_seconds',
      help: 'Time to commit one partition batch to the lake (all its tables)',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    }),
    discards: new Counter({
      name: 'sluice_loader_discards_total',
      help: 'Values written to the discards table',
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'sluice_loader_rejected_total',
      help: 'Records that could not be decoded or mapped (written nowhere)',
      registers: [registry],
    }),
    lag: new Gauge({
      name: 'sluice_loader_lag_records',
      help: 'High watermark minus the last committed offset, per partition',
      labelNames: ['partition'],
      registers: [registry],
    }),
    buffered: new Gauge({
      name: 'sluice_loader_buffered_events',
      help: 'Events held in memory, not yet committed',
      registers: [registry],
    }),
    identityEdges: new Counter({
      name: 'sluice_loader_identity_edges_total',
      help: 'Identity edges applied',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    identityConflicts: new Counter({
      name: 'sluice_loader_identity_conflicts_total',
      help: 'Identity commits lost to another instance (graph reloaded)',
      registers: [registry],
    }),
  };
}
