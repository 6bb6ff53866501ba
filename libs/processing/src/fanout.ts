import type { ResolvedDestination, WorkspaceSnapshot } from '@sluice/workspace';
import { evaluateConsent } from './consent';
import type { SluiceEvent } from './event';
import { checkSuppression, evaluateEventFilters, evaluateIntegrations } from './filters';
import { IdentityEdge, identityEdges } from './identity';
import { applyTrackingPlan, TrackingPlanCompiler, TrackingPlanReport, Violation } from './tracking-plan';

export type FilterReason = 'disabled' | 'consent' | 'integrations' | 'filter';

export type DestinationPlan =
  | {
      kind: 'deliver';
      destinationId: string;
      destinationType: string;
      /** Lake/warehouse destinations load `processed.event` from events.processed: no destination topic. */
      lake: boolean;
      /** The event to send (read-only: it may be shared with other destinations). */
      event: SluiceEvent;
      transformationId?: string;
      /** The options object given for this destination in `integrations`, if any. */
      integrationOptions?: Record<string, unknown>;
    }
  | {
      kind: 'filtered';
      destinationId: string;
      destinationType: string;
      lake: boolean;
      reason: FilterReason;
      detail: string;
    };

export type FanOutPlan =
  | {
      kind: 'ok';
      /** What goes to events.processed, and the lake destinations that take it. */
      processed: { event: SluiceEvent; lakeDestinationIds: string[] };
      /** One entry per enabled connection of the source, in workspace order. */
      destinations: DestinationPlan[];
      identityEdges: IdentityEdge[];
      trackingPlan?: TrackingPlanReport;
      violations: Violation[];
    }
  | {
      kind: 'drop';
      reason: 'unknown-source' | 'source-disabled' | 'suppressed' | 'tracking-plan';
      detail: string;
      trackingPlan?: TrackingPlanReport;
      violations: Violation[];
    };

export interface FanOutOptions {
  /** Validator cache shared across calls (default: one per process). */
  compiler?: TrackingPlanCompiler;
  /** Time for identity edges without a timestamp. */
  nowMs?: number;
}

const defaultCompiler = new TrackingPlanCompiler();

function filtered(resolved: ResolvedDestination, reason: FilterReason, detail: string): DestinationPlan {
  const dest = resolved.destination;
  return { kind: 'filtered', destinationId: dest.id, destinationType: dest.type, lake: resolved.lake, reason, detail };
}

/**
 * Whether `planFanOut` reads an event's `properties`, `traits` or `context` for this source:
 * only its tracking plan and the consent categories of its destinations do. Where it does not,
 * a caller may skip decoding them (ids, names, types and `integrations` are always read).
 */
export function fanOutReadsFreeFormFields(snapshot: WorkspaceSnapshot, sourceId: string): boolean {
  if (snapshot.trackingPlanBySource.has(sourceId)) return true;
  for (const conn of snapshot.connectionsBySource.get(sourceId) ?? []) {
    if (conn.destination.destination.consentCategories.length > 0) return true;
  }
  return false;
}

/**
 * The processor's decision for one (deduplicated) event of a source:
 * suppression, then the source's tracking plan, then, per connected
 * destination, disabled → integrations → event filters → consent. Pure: it
 * reads the snapshot and never mutates the event.
 */
export function planFanOut(
  event: SluiceEvent,
  snapshot: WorkspaceSnapshot,
  sourceId: string,
  opts: FanOutOptions = {},
): FanOutPlan {
  const source = snapshot.sourceById.get(sourceId);
  if (!source)
    return {
      kind: 'drop',
      reason: 'unknown-source',
      detail: `source "${sourceId}" is not in the workspace`,
      violations: [],
    };
  if (!source.enabled)
    return { kind: 'drop', reason: 'source-disabled', detail: `source "${sourceId}" is disabled`, violations: [] };

  const suppression = checkSuppression(event, snapshot);
  if (suppression.kind === 'drop') {
    return { kind: 'drop', reason: 'suppressed', detail: `${suppression.matched} is suppressed`, violations: [] };
  }

  let current = event;
  let report: TrackingPlanReport | undefined;
  let violations: Violation[] = [];
  const plan = snapshot.trackingPlanBySource.get(sourceId);
  if (plan) {
    const outcome = applyTrackingPlan(event, plan, opts.compiler ?? defaultCompiler);
    if (outcome.kind === 'drop') {
      return {
        kind: 'drop',
        reason: 'tracking-plan',
        detail: `tracking plan ${plan.id} v${plan.version}: ${outcome.violations.map((v) => v.type).join(', ')}`,
        trackingPlan: outcome.report,
        violations: outcome.violations,
      };
    }
    current = outcome.event;
    report = outcome.report;
    violations = outcome.violations;
  }

  const destinations: DestinationPlan[] = [];
  const lakeDestinationIds: string[] = [];
  for (const conn of snapshot.connectionsBySource.get(sourceId) ?? []) {
    const resolved = conn.destination;
    const dest = resolved.destination;
    if (!dest.enabled) {
      destinations.push(filtered(resolved, 'disabled', 'destination is disabled'));
      continue;
    }
    const integrations = evaluateIntegrations(current, resolved);
    if (!integrations.allowed) {
      destinations.push(filtered(resolved, 'integrations', `integrations.${integrations.matchedKey} is false`));
      continue;
    }
    const filter = evaluateEventFilters(current, dest.eventFilters);
    if (!filter.allowed) {
      destinations.push(filtered(resolved, 'filter', filter.rule));
      continue;
    }
    const consent = evaluateConsent(current, dest);
    if (!consent.allowed) {
      destinations.push(
        filtered(resolved, 'consent', `${consent.framework}: no consent for ${consent.missing.join(', ')}`),
      );
      continue;
    }
    // One shape for every delivery (optional fields present, maybe undefined): this runs per event
    // and destination.
    const delivery: DestinationPlan = {
      kind: 'deliver',
      destinationId: dest.id,
      destinationType: dest.type,
      lake: resolved.lake,
      event: current,
      transformationId: conn.connection.transformationId,
      integrationOptions: integrations.options,
    };
    destinations.push(delivery);
    if (resolved.lake) lakeDestinationIds.push(dest.id);
  }

  return {
    kind: 'ok',
    processed: { event: current, lakeDestinationIds },
    destinations,
    identityEdges: identityEdges(current, sourceId, opts.nowMs ?? Date.now()),
    trackingPlan: report,
    violations,
  };
}
