import { isRecord, SluiceEvent } from './event';

/**
 * Consent, following what each vendor documents:
 *
 * - A destination without `consentCategories` receives every event.
 * - RudderStack (`context.consentManagement`): a category is granted when it is
 *   not in `deniedConsentIds` and, if `allowedConsentIds` is given, is in it.
 *   The resolution strategy is the event's `resolutionStrategy`, else the
 *   destination's `consentResolutionStrategy` (default `and`): `and` needs
 *   every category of the destination granted, `or` at least one.
 *   Category ids are case-sensitive, as in RudderStack.
 * - Segment (`context.consent.categoryPreferences`, `{category: boolean}`): the
 *   destination receives the event only if every one of its categories is
 *   `true` (Segment forwards only when the user opted in to all categories a
 *   destination is mapped to; an empty preferences object grants nothing).
 * - An event with neither object flows without consent enforcement (both
 *   vendors do so). With both objects, each must allow the destination.
 */
export type ConsentDecision =
  | { allowed: true; basis: 'no-categories' | 'no-consent-data' | 'consented' }
  | { allowed: false; framework: 'rudderstack' | 'segment'; missing: string[] };

export interface ConsentDestination {
  readonly consentCategories: readonly string[];
  readonly consentResolutionStrategy?: 'and' | 'or';
}

function stringList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.filter((v): v is string => typeof v === 'string');
}

export function evaluateConsent(event: SluiceEvent, destination: ConsentDestination): ConsentDecision {
  const categories = destination.consentCategories;
  if (categories.length === 0) return { allowed: true, basis: 'no-categories' };
  const ctx = isRecord(event.context) ? event.context : undefined;
  const rudder = ctx && isRecord(ctx.consentManagement) ? ctx.consentManagement : undefined;
  const segmentConsent = ctx && isRecord(ctx.consent) ? ctx.consent : undefined;
  const prefs =
    segmentConsent && isRecord(segmentConsent.categoryPreferences) ? segmentConsent.categoryPreferences : undefined;
  if (!rudder && !prefs) return { allowed: true, basis: 'no-consent-data' };

  if (rudder) {
    const denied = new Set(stringList(rudder.deniedConsentIds) ?? []);
    const allowedList = stringList(rudder.allowedConsentIds);
    const allowed = allowedList ? new Set(allowedList) : undefined;
    const granted = (c: string) => !denied.has(c) && (allowed === undefined || allowed.has(c));
    const eventStrategy =
      typeof rudder.resolutionStrategy === 'string' ? rudder.resolutionStrategy.toLowerCase() : undefined;
    const strategy =
      eventStrategy === 'and' || eventStrategy === 'or'
        ? eventStrategy
        : (destination.consentResolutionStrategy ?? 'and');
    const missing = categories.filter((c) => !granted(c));
    const ok = strategy === 'and' ? missing.length === 0 : missing.length < categories.length;
    if (!ok) return { allowed: false, framework: 'rudderstack', missing };
  }
  if (prefs) {
    const missing = categories.filter((c) => prefs[c] !== true);
    if (missing.length > 0) return { allowed: false, framework: 'segment', missing };
  }
  return { allowed: true, basis: 'consented' };
}
