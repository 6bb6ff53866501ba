import type { z } from 'zod';
import type { SegmentEvent } from './event';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A request as a destination's transform describes it. `url` is absolute, or a
 * path when the destination has an auth step that supplies the base (Salesforce's
 * instance URL).
 */
export interface HttpRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HttpResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
}

export type HttpOutcome =
  { kind: 'response'; response: HttpResponse } | { kind: 'network-error'; message: string; timedOut: boolean };

/** What to do with one event (or a whole delivery) after an attempt. */
export type EventVerdict =
  { kind: 'ok' } | { kind: 'retry'; reason: string; retryAfterMs?: number } | { kind: 'abort'; reason: string };

/**
 * The verdict on one delivery. `partial` names events whose fate differs from
 * the rest; events it does not list were delivered (`ok`).
 */
export type DeliveryVerdict =
  EventVerdict | { kind: 'partial'; events: Record<string, Exclude<EventVerdict, { kind: 'ok' }>> };

/** One unit of delivery: a payload and the events it carries (in order). */
export interface Delivery<P> {
  messageIds: string[];
  payload: P;
  /**
   * For vendors that report errors by position in an array of the request:
   * array name → the messageId behind each element (Braze `events`, `purchases`).
   */
  itemIds?: Record<string, string[]>;
}

export interface TransformResult<P> {
  deliveries: Delivery<P>[];
  /** Events this destination does not take (unsupported call, filtered): dropped, not errors. */
  skipped: { messageId: string; reason: string }[];
  /** Events that can never be delivered as they are (a required field is missing): dead-letter. */
  rejected: { messageId: string; reason: string }[];
}

/** A zod schema whose output is C, whatever it accepts as input. */
export type ConfigSchema<C> = z.ZodType<C, z.ZodTypeDef, unknown>;

interface DefinitionBase<C, P> {
  /** Registry key and config `type`: 'webhook', 'amplitude', ... */
  type: string;
  /** Name matched against the event's `integrations` object: 'Amplitude'. */
  displayName: string;
  configSchema: ConfigSchema<C>;
  /** Largest number of events one transform call should be given. */
  maxBatchSize(config: C): number;
  /** Pure: events → deliveries. Never throws for bad events; they are skipped or rejected. */
  transform(events: readonly SegmentEvent[], config: C): TransformResult<P>;
}

/** A credential an auth step obtained, cached by the runtime. */
export interface AuthToken {
  accessToken: string;
  /** Base URL that relative request URLs resolve against (Salesforce `instance_url`). */
  baseUrl?: string;
  /** When the runtime must fetch a new one; absent = until rejected. */
  expiresAtMs?: number;
}

export type AuthResult = { ok: true; token: AuthToken } | { ok: false; verdict: EventVerdict };

/** Sends one HTTP request; the runtime's executor, given to auth steps. */
export type HttpExecutor = (request: HttpRequest) => Promise<HttpOutcome>;

/**
 * The stateful part of a destination that needs a session: fetching a token is
 * I/O (done by the runtime, cached per configured destination); applying it to a
 * request is pure.
 */
export interface AuthStep<C> {
  fetchToken(config: C, http: HttpExecutor, nowMs: number): Promise<AuthResult>;
  apply(request: HttpRequest, token: AuthToken, config: C): HttpRequest;
  /** True when the outcome says the token is no longer valid (fetch a new one, retry once). */
  isExpired(outcome: HttpOutcome): boolean;
}

export interface HttpDestinationDefinition<C> extends DefinitionBase<C, HttpRequest> {
  transport: 'http';
  /** Defaults to `defaultClassify`. Gets the delivery so it can map per-event errors. */
  classify?(outcome: HttpOutcome, delivery: Delivery<HttpRequest>, config: C): DeliveryVerdict;
  auth?: AuthStep<C>;
}

export interface KafkaRecord {
  key: string | null;
  /** JSON-encodable value; the producer encodes it as JSON text or Avro. */
  value: Record<string, unknown>;
  headers: Record<string, string>;
}

export interface KafkaRecordBatch {
  topic: string;
  format: 'json' | 'avro';
  /** Subject of the value schema when format is avro. */
  subject?: string;
  records: KafkaRecord[];
}

export interface KafkaDestinationDefinition<C> extends DefinitionBase<C, KafkaRecordBatch> {
  transport: 'kafka';
}

/** One Redis command as its arguments: ['HSET', key, field, value]. */
export type RedisCommand = string[];

export interface RedisCommandBatch {
  /** Run atomically (MULTI/EXEC) in this order. */
  commands: RedisCommand[];
}

export interface RedisDestinationDefinition<C> extends DefinitionBase<C, RedisCommandBatch> {
  transport: 'redis';
}

export type DestinationDefinition<C> =
  HttpDestinationDefinition<C> | KafkaDestinationDefinition<C> | RedisDestinationDefinition<C>;

export type Transport = DestinationDefinition<unknown>['transport'];

export function emptyResult<P>(): TransformResult<P> {
  return { deliveries: [], skipped: [], rejected: [] };
}
