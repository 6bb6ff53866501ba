import { z } from '@sluice/config';

const MIN = 60 * 1000;

/** How one destination is delivered to; every field has a default. */
export const deliverySettingsSchema = z.object({
  /** First retry delay; doubles per attempt up to maxBackoffMs. */
  minBackoffMs: z.number().int().min(0).default(10_000),
  maxBackoffMs: z
    .number()
    .int()
    .min(0)
    .default(5 * MIN),
  backoffMultiplier: z.number().min(1).default(2),
  /** Share of a delay taken off at random (0 = none, 0.2 = up to 20 % earlier). */
  jitter: z.number().min(0).max(1).default(0.2),
  /** After this long since the first attempt a retriable failure goes to the dead-letter topic. */
  retryWindowMs: z
    .number()
    .int()
    .min(0)
    .default(3 * 60 * MIN),
  /** ... but never before this many attempts. */
  minAttempts: z.number().int().min(1).default(3),
  /** A Retry-After longer than this is cut to it. */
  maxRetryAfterMs: z
    .number()
    .int()
    .min(0)
    .default(60 * MIN),
  /** Events held in memory per partition before fetching that partition pauses. */
  maxQueuedPerPartition: z.number().int().min(1).default(10_000),
  /** Requests in flight to the destination at once (per router instance). */
  maxInFlightRequests: z.number().int().min(1).default(32),
  /** Events per second to the destination per router instance; 0 = no limit. */
  ratePerSecond: z.number().min(0).default(0),
  /** Token bucket size; defaults to one second's worth of ratePerSecond. */
  rateBurst: z.number().min(0).optional(),
  /** Upper bound on events per request; the deliverer's own maxBatchSize also applies. */
  maxBatchSize: z.number().int().min(1).optional(),
  /** A deliverer that has not answered after this long counts as a retriable failure (its late answer is ignored). */
  deliveryTimeoutMs: z.number().int().min(1).default(120_000),
  /** How often watermarks are committed. */
  commitIntervalMs: z.number().int().min(10).default(1000),
  /** How long a graceful stop waits for requests in flight. */
  stopTimeoutMs: z.number().int().min(0).default(10_000),
});
export type DeliverySettings = z.infer<typeof deliverySettingsSchema>;

export const defaultDeliverySettings: DeliverySettings = deliverySettingsSchema.parse({});

/**
 * Delay before retry number `attempt` (1 = after the first failure):
 * min × multiplier^(attempt−1), capped at max, minus up to `jitter` of it.
 */
export function backoffDelay(attempt: number, s: DeliverySettings, random: () => number = Math.random): number {
  const base = Math.min(s.maxBackoffMs, s.minBackoffMs * Math.pow(s.backoffMultiplier, Math.max(0, attempt - 1)));
  return Math.round(base * (1 - s.jitter * random()));
}
