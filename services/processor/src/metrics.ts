import { Counter, Histogram, Registry } from 'prom-client';

export function createProcessorMetrics(registry: Registry) {
  return {
    events: new Counter({
      name: 'sluice_processor_events_total',
      help: 'Events read from events.raw by source and outcome (processed, duplicate, dropped-<reason>)',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    }),
    routed: new Counter({
      name: 'sluice_processor_routed_total',
      help: 'Events produced to a destination topic',
      labelNames: ['destination'],
      registers: [registry],
    }),
    filtered: new Counter({
      name: 'sluice_processor_filtered_total',
      help: 'Events not sent to a destination, by reason (disabled, integrations, filter, consent, transformation)',
      labelNames: ['destination', 'reason'],
      registers: [registry],
    }),
    violations: new Counter({
      name: 'sluice_processor_tracking_plan_violations_total',
      help: 'Tracking-plan violations by source and rule',
      labelNames: ['source', 'rule'],
      registers: [registry],
    }),
    deadLetters: new Counter({
      name: 'sluice_processor_dead_letters_total',
      help: 'Records sent to the dead-letter topic',
      labelNames: ['stage', 'reason'],
      registers: [registry],
    }),
    transformSeconds: new Histogram({
      name: 'sluice_processor_transformation_seconds',
      help: 'Time to run a transformation over one batch group',
      labelNames: ['transformation'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'sluice_processor_batch_seconds',
      help: 'Time from fetch to committed transaction per batch',
      buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
export type ProcessorMetrics = ReturnType<typeof createProcessorMetrics>;
