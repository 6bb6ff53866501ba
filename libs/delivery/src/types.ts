/** One event handed to a destination: the head of one user's queue. */
export interface DeliveryItem {
  destinationId: string;
  sourceId: string;
  messageId: string;
  /** The Kafka key: the user the event belongs to. */
  key: string;
  /** The event as JSON text (the DeliveryEnvelope payload). */
  payload: string;
  /** Epoch ms the gateway or source accepted the event. */
  acceptedAt: number;
  /** 1 on the first try. */
  attempt: number;
}

/** What happened to one item of a request. */
export type DeliveryOutcome =
  | { kind: 'ok' }
  | { kind: 'retry'; retryAfterMs?: number; status?: number; error: string }
  | { kind: 'abort'; status?: number; error: string };

/**
 * A destination as the router sees it. `deliver` sends up to `maxBatchSize`
 * items (heads of different users) and answers one outcome per item, in order.
 * It should not throw: a thrown error counts as an abort of every item unless
 * the error carries `retriable: true` (decision 0007).
 */
export interface Deliverer {
  readonly maxBatchSize: number;
  deliver(items: DeliveryItem[]): Promise<DeliveryOutcome[]>;
  close?(): Promise<void>;
}

/** The router's dead letter, field for field with schemas/avro/dead-letter.avsc. */
export interface DeadLetterRecord {
  stage: string;
  sourceId: string | null;
  destinationId: string | null;
  messageId: string | null;
  partitionKey: string | null;
  payload: Buffer;
  payloadFormat: string;
  errorClass: string;
  errorMessage: string;
  retriable: boolean;
  attempts: number;
  lastStatus: number | null;
  firstAttemptAt: number | null;
  failedAt: number;
  originalTopic: string | null;
  originalPartition: number | null;
  originalOffset: string | null;
}

/** Writes dead letters durably (acks=all); rejects when they are not durable. */
export interface DeadLetterSink {
  write(records: DeadLetterRecord[]): Promise<void>;
}

/** A consumed record, decoded (or not) into what the engine needs. */
export type IncomingRecord =
  | {
      offset: string;
      key: string;
      envelope: { sourceId: string; messageId: string; payload: string; acceptedAt: number };
    }
  | {
      offset: string;
      key: string;
      /** The record could not be decoded: it goes to the dead-letter topic as it was. */
      poison: { error: string; raw: Buffer };
    };

/** Timers behind an interface so scheduling is tested with a fake clock. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Counters the engine reports; the service maps them onto Prometheus. */
export interface DeliveryMetrics {
  delivered(n: number): void;
  retried(n: number): void;
  deadLettered(n: number, retriable: boolean): void;
  /** Events delivered again after a restart or rebalance although an earlier run had finished them. */
  redelivered(n: number): void;
  requests(outcome: 'ok' | 'retry' | 'abort' | 'mixed'): void;
}

export const noMetrics: DeliveryMetrics = {
  delivered: () => undefined,
  retried: () => undefined,
  deadLettered: () => undefined,
  redelivered: () => undefined,
  requests: () => undefined,
};
