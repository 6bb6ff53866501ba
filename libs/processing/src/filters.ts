import { normalizeIntegrationName } from '@sluice/workspace';
import type { DeepReadonly, EventFilters } from '@sluice/workspace';
import { eventName, isRecord, SluiceEvent } from './event';

export type SuppressionDecision =
  { kind: 'ok' } | { kind: 'drop'; reason: 'suppressed'; matched: 'userId' | 'anonymousId' };

export interface SuppressionList {
  readonly suppressedUserIds: ReadonlySet<string>;
  readonly suppressedAnonymousIds: ReadonlySet<string>;
}

/** An event whose userId or anonymousId is suppressed goes nowhere: no destination, no lake, no identity edge. */
export function checkSuppression(event: SluiceEvent, list: SuppressionList): SuppressionDecision {
  if (typeof event.userId === 'string' && list.suppressedUserIds.has(event.userId)) {
    return { kind: 'drop', reason: 'suppressed', matched: 'userId' };
  }
  if (typeof event.anonymousId === 'string' && list.suppressedAnonymousIds.has(event.anonymousId)) {
    return { kind: 'drop', reason: 'suppressed', matched: 'anonymousId' };
  }
  // An alias carries the old id in previousId: it is a user id too.
  if (event.type === 'alias' && typeof event.previousId === 'string' && list.suppressedUserIds.has(event.previousId)) {
    return { kind: 'drop', reason: 'suppressed', matched: 'userId' };
  }
  return { kind: 'ok' };
}

export type IntegrationsDecision =
  { allowed: true; matchedKey?: string; options?: Record<string, unknown> } | { allowed: false; matchedKey: string };

export interface IntegrationsDestination {
  /** Normalized names (see normalizeIntegrationName): the destination's name, its type's display name and aliases. */
  readonly integrationNames: readonly string[];
}

/**
 * The `integrations` object: `All` defaults to true; a key naming the
 * destination (its name or its type's display name, compared ignoring case
 * and punctuation) overrides `All`: `false` excludes it, `true` includes it,
 * an object includes it and passes the object on as options. A key for the
 * destination's own name wins over a key for its type.
 */
export function evaluateIntegrations(event: SluiceEvent, destination: IntegrationsDestination): IntegrationsDecision {
  const integrations = event.integrations;
  if (!isRecord(integrations)) return { allowed: true };
  let all = true;
  let best: { key: string; value: unknown; rank: number } | undefined;
  for (const [key, value] of Object.entries(integrations)) {
    const norm = normalizeIntegrationName(key);
    if (norm === 'all') {
      all = value !== false;
      continue;
    }
    const rank = destination.integrationNames.indexOf(norm);
    if (rank >= 0 && (best === undefined || rank < best.rank)) best = { key, value, rank };
  }
  if (best) {
    if (best.value === false) return { allowed: false, matchedKey: best.key };
    if (isRecord(best.value)) return { allowed: true, matchedKey: best.key, options: best.value };
    if (best.value === true) return { allowed: true, matchedKey: best.key };
    // Anything else (null, a string) is no statement about this destination.
  }
  return all ? { allowed: true } : { allowed: false, matchedKey: 'All' };
}

export type FilterDecision =
  { allowed: true } | { allowed: false; rule: 'deny-type' | 'deny-event' | 'allow-type' | 'allow-event' };

/**
 * Destination event filters. Deny wins: an event whose type is in
 * `deny.types`, or whose name is in `deny.events`, is filtered. With
 * `allow.types`, only those types pass; with `allow.events`, named events
 * (track, page, screen) pass only if their name is listed, while events
 * without a name (identify, group, alias) are not subject to it. Names match
 * exactly (trimmed), types ignoring case.
 */
export function evaluateEventFilters(
  event: SluiceEvent,
  filters: DeepReadonly<EventFilters> | undefined,
): FilterDecision {
  if (!filters) return { allowed: true };
  const type = typeof event.type === 'string' ? event.type.toLowerCase() : '';
  const name = eventName(event)?.trim();
  const { allow, deny } = filters;
  if (deny?.types?.includes(type as never)) return { allowed: false, rule: 'deny-type' };
  if (name !== undefined && deny?.events?.some((e) => e.trim() === name)) return { allowed: false, rule: 'deny-event' };
  if (allow?.types && allow.types.length > 0 && !allow.types.includes(type as never)) {
    return { allowed: false, rule: 'allow-type' };
  }
  if (allow?.events && allow.events.length > 0 && (type === 'track' || type === 'page' || type === 'screen')) {
    if (name === undefined || !allow.events.some((e) => e.trim() === name))
      return { allowed: false, rule: 'allow-event' };
  }
  return { allowed: true };
}
