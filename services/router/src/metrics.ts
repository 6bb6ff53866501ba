import { Counter, Gauge, Registry } from 'prom-client';
import type { DeliveryEngine, DeliveryMetrics } from '@sluice/delivery';

/** The router's Prometheus metrics, labelled by destination. */
export class RouterMetrics {
  readonly deliveries: Counter<'destination' | 'outcome'>;
  readonly requests: Counter<'destination' | 'outcome'>;
  readonly deadLetters: Counter<'destination' | 'retriable'>;
  readonly redeliveries: Counter<'destination'>;
  readonly skipped: Counter<'destination'>;
  private readonly engines = new Map<string, DeliveryEngine>();

  constructor(registry: Registry) {
    this.deliveries = new Counter({
      name: 'sluice_router_deliveries_total',
      help: 'Delivery attempts of events by destination and outcome (delivered, retry, dead_letter)',
      labelNames: ['destination', 'outcome'],
      registers: [registry],
    });
    this.requests = new Counter({
      name: 'sluice_router_requests_total',
      help: 'Requests to destinations by outcome (ok, retry, abort, mixed)',
      labelNames: ['destination', 'outcome'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: 'sluice_router_dead_letters_total',
      help: 'Events written to the dead-letter topic',
      labelNames: ['destination', 'retriable'],
      registers: [registry],
    });
    this.redeliveries = new Counter({
      name: 'sluice_router_redeliveries_total',
      help: 'Events delivered again after a restart or rebalance although an earlier run had finished them',
      labelNames: ['destination'],
      registers: [registry],
    });
    this.skipped = new Counter({
      name: 'sluice_router_skipped_total',
      help: 'Events a destination does not take (unsupported call, filtered): dropped as delivered',
      labelNames: ['destination'],
      registers: [registry],
    });
    const engines = this.engines;
    const gauge = (name: string, help: string, pick: (e: ReturnType<DeliveryEngine['stats']>) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['destination'],
        registers: [registry],
        collect() {
          // Reset first: a destination removed by a reload must not keep reporting its last values.
          this.reset();
          for (const [id, engine] of engines) this.set({ destination: id }, pick(engine.stats()));
        },
      });
    gauge('sluice_router_queue_depth', 'Events held in memory and not yet finished', (s) => s.queued);
    gauge('sluice_router_in_flight_requests', 'Requests in flight', (s) => s.inFlightRequests);
    gauge('sluice_router_waiting_keys', 'Users whose head event waits for a retry', (s) => s.waitingKeys);
    gauge('sluice_router_partitions', 'Partitions held by this instance', (s) => s.partitions);
  }

  watch(destinationId: string, engine: DeliveryEngine): void {
    this.engines.set(destinationId, engine);
  }

  unwatch(destinationId: string): void {
    this.engines.delete(destinationId);
  }

  forDestination(destination: string): DeliveryMetrics {
    return {
      delivered: (n) => this.deliveries.inc({ destination, outcome: 'delivered' }, n),
      retried: (n) => this.deliveries.inc({ destination, outcome: 'retry' }, n),
      deadLettered: (n, retriable) => {
        this.deliveries.inc({ destination, outcome: 'dead_letter' }, n);
        this.deadLetters.inc({ destination, retriable: String(retriable) }, n);
      },
      redelivered: (n) => this.redeliveries.inc({ destination }, n),
      requests: (outcome) => this.requests.inc({ destination, outcome }),
    };
  }
}
