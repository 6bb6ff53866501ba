import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The gateway's Prometheus series (names prefixed `sluice_gateway_`). */
export class GatewayMetrics {
  readonly requests: Counter<'route' | 'status'>;
  readonly eventsAccepted: Counter<'source'>;
  readonly eventsRejected: Counter<'reason'>;
  readonly produceLatency: Histogram<'outcome'>;
  readonly produceBatchRecords: Histogram;
  readonly ackLatency: Histogram;
  readonly bytesInFlight: Gauge;
  readonly requestsInFlight: Gauge;
  readonly kafkaReady: Gauge;
  readonly encodedBy: Counter<'encoder'>;

  constructor(readonly registry: Registry) {
    this.requests = new Counter({
      name: 'sluice_gateway_requests_total',
      help: 'HTTP requests by route and status code',
      labelNames: ['route', 'status'],
      registers: [registry],
    });
    this.eventsAccepted = new Counter({
      name: 'sluice_gateway_events_accepted_total',
      help: 'Events acknowledged to clients (durably written to events.raw), by source id',
      labelNames: ['source'],
      registers: [registry],
    });
    this.eventsRejected = new Counter({
      name: 'sluice_gateway_requests_rejected_total',
      help: 'Requests turned away, by reason (auth, invalid, too_large, rate_limited, overloaded, kafka, deadline)',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.produceLatency = new Histogram({
      name: 'sluice_gateway_produce_latency_seconds',
      help: 'Duration of one Kafka produce call (acks=all)',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    this.produceBatchRecords = new Histogram({
      name: 'sluice_gateway_produce_batch_records',
      help: 'Records per Kafka produce call',
      buckets: [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000],
      registers: [registry],
    });
    this.ackLatency = new Histogram({
      name: 'sluice_gateway_ack_latency_seconds',
      help: 'From a request received to its 200 (events durable in Kafka)',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.bytesInFlight = new Gauge({
      name: 'sluice_gateway_bytes_in_flight',
      help: 'Request and record bytes held for requests not yet answered',
      registers: [registry],
    });
    this.requestsInFlight = new Gauge({
      name: 'sluice_gateway_requests_in_flight',
      help: 'Event requests received and not yet answered',
      registers: [registry],
    });
    this.encodedBy = new Counter({
      name: 'sluice_gateway_requests_encoded_total',
      help: 'Event requests parsed and encoded, by where: an encoder thread, or the HTTP thread',
      labelNames: ['encoder'],
      registers: [registry],
    });
    this.kafkaReady = new Gauge({
      name: 'sluice_gateway_kafka_ready',
      help: '1 when the last Kafka probe or produce call succeeded',
      registers: [registry],
    });
  }
}
