import { createHash } from 'node:crypto';
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { DeepReadonly, TrackingPlan } from '@sluice/workspace';
import { identifyTraits, isRecord, SluiceEvent } from './event';

/** RudderStack's violation type names, so dashboards built for it read Sluice's too. */
export type ViolationType =
  'Unplanned-Event' | 'Additional-Properties' | 'Required-Missing' | 'Datatype-Mismatch' | 'Unknown-Violation';

export interface Violation {
  type: ViolationType;
  message: string;
  meta: Record<string, unknown>;
}

/** One line of per-rule metrics: what happened to one event under one rule. */
export interface TrackingPlanReport {
  planId: string;
  planVersion: number;
  /** The event name, `identify`, or `(unplanned)`. */
  rule: string;
  status: 'valid' | 'violations' | 'unplanned';
  action: 'forward' | 'drop';
  violationCounts: Partial<Record<ViolationType, number>>;
}

export type TrackingPlanOutcome =
  | { kind: 'ok'; event: SluiceEvent; violations: Violation[]; report: TrackingPlanReport | undefined }
  | { kind: 'drop'; reason: 'tracking-plan'; violations: Violation[]; report: TrackingPlanReport };

type PlanLike = DeepReadonly<TrackingPlan>;

interface CompiledPlan {
  events: Map<string, ValidateFunction | undefined>;
  identify: ValidateFunction | undefined;
}

/**
 * Properties/traits named in the schema are the plan; others are "unplanned
 * properties". A schema that says nothing about `additionalProperties` is
 * closed here (as a tracking plan lists what is planned); a schema that wants
 * open properties says `additionalProperties: true`.
 */
function closeSchema(schema: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...schema };
  if (out.type === undefined) out.type = 'object';
  if (out.additionalProperties === undefined && out.patternProperties === undefined && isRecord(out.properties)) {
    out.additionalProperties = false;
  }
  return out;
}

/**
 * Compiles each plan version once. Keyed by plan id, version and a hash of
 * its rules, so a workspace reload that keeps a plan reuses its validators,
 * and an edit without a version bump still takes effect.
 */
export class TrackingPlanCompiler {
  private readonly ajv: Ajv;
  private readonly byObject = new WeakMap<object, CompiledPlan>();
  private readonly byKey = new Map<string, CompiledPlan>();
  compiledCount = 0;

  constructor(private readonly maxPlans = 256) {
    this.ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    addFormats(this.ajv);
  }

  get(plan: PlanLike): CompiledPlan {
    const hit = this.byObject.get(plan);
    if (hit) return hit;
    const key = `${plan.id}@${plan.version}#${createHash('sha1').update(JSON.stringify(plan.rules)).digest('hex')}`;
    let compiled = this.byKey.get(key);
    if (!compiled) {
      compiled = { events: new Map(), identify: undefined };
      for (const [name, rule] of Object.entries(plan.rules.events)) {
        compiled.events.set(name, rule.properties ? this.ajv.compile(closeSchema(rule.properties)) : undefined);
      }
      const traits = plan.rules.identify?.traits;
      compiled.identify = traits ? this.ajv.compile(closeSchema(traits)) : undefined;
      this.compiledCount++;
      if (this.byKey.size >= this.maxPlans) {
        const oldest = this.byKey.keys().next().value;
        if (oldest !== undefined) this.byKey.delete(oldest);
      }
      this.byKey.set(key, compiled);
    }
    this.byObject.set(plan, compiled);
    return compiled;
  }
}

function toViolation(err: ErrorObject, root: string): Violation {
  const where = `${root}${err.instancePath.replace(/\//g, '.')}`;
  const meta: Record<string, unknown> = {
    instancePath: err.instancePath,
    schemaPath: err.schemaPath,
    keyword: err.keyword,
    params: err.params,
  };
  switch (err.keyword) {
    case 'additionalProperties': {
      const prop = String((err.params as { additionalProperty?: unknown }).additionalProperty);
      return { type: 'Additional-Properties', message: `${where}.${prop} is not in the tracking plan`, meta };
    }
    case 'required': {
      const prop = String((err.params as { missingProperty?: unknown }).missingProperty);
      return { type: 'Required-Missing', message: `${where} must have required property '${prop}'`, meta };
    }
    case 'type':
      return { type: 'Datatype-Mismatch', message: `${where} ${err.message ?? 'has the wrong type'}`, meta };
    default:
      return { type: 'Unknown-Violation', message: `${where} ${err.message ?? 'is invalid'}`, meta };
  }
}

function countByType(violations: Violation[]): Partial<Record<ViolationType, number>> {
  const counts: Partial<Record<ViolationType, number>> = {};
  for (const v of violations) counts[v.type] = (counts[v.type] ?? 0) + 1;
  return counts;
}

function annotate(event: SluiceEvent, plan: PlanLike, violations: Violation[]): SluiceEvent {
  const context: Record<string, unknown> = {
    ...(isRecord(event.context) ? event.context : {}),
    trackingPlanId: plan.id,
    trackingPlanVersion: plan.version,
  };
  if (violations.length > 0) context.violationErrors = violations;
  return { ...event, context };
}

/**
 * Validates a track event's properties (against the rule for its name) or an
 * identify's traits. Settings decide the action: unplanned events are
 * forwarded if `allowUnplannedEvents`, else dropped; unplanned properties
 * follow `unplannedProperties`; every other violation `anyOtherViolation`.
 * Forwarded events carry `context.trackingPlanId`, `trackingPlanVersion` and,
 * when there are any, `violationErrors`. Other event types pass unchecked.
 * The input event is never mutated.
 */
export function applyTrackingPlan(
  event: SluiceEvent,
  plan: PlanLike,
  compiler: TrackingPlanCompiler,
): TrackingPlanOutcome {
  const compiled = compiler.get(plan);
  const settings = plan.settings;
  let validate: ValidateFunction | undefined;
  let data: unknown;
  let rule: string;
  let root: string;
  if (event.type === 'track') {
    const name = typeof event.event === 'string' ? event.event : '';
    if (!compiled.events.has(name)) {
      const violations: Violation[] = [
        { type: 'Unplanned-Event', message: `event "${name}" is not in the tracking plan`, meta: { event: name } },
      ];
      const action = settings.allowUnplannedEvents ? 'forward' : 'drop';
      const report: TrackingPlanReport = {
        planId: plan.id,
        planVersion: plan.version,
        rule: '(unplanned)',
        status: 'unplanned',
        action,
        violationCounts: countByType(violations),
      };
      if (action === 'drop') return { kind: 'drop', reason: 'tracking-plan', violations, report };
      return { kind: 'ok', event: annotate(event, plan, violations), violations, report };
    }
    validate = compiled.events.get(name);
    data = isRecord(event.properties) ? event.properties : {};
    rule = name;
    root = 'properties';
  } else if (event.type === 'identify' && compiled.identify) {
    validate = compiled.identify;
    data = identifyTraits(event);
    rule = 'identify';
    root = 'traits';
  } else {
    return { kind: 'ok', event, violations: [], report: undefined };
  }

  const violations = validate && !validate(data) ? (validate.errors ?? []).map((e) => toViolation(e, root)) : [];
  const drop = violations.some((v) =>
    v.type === 'Additional-Properties'
      ? settings.unplannedProperties === 'drop'
      : settings.anyOtherViolation === 'drop',
  );
  const report: TrackingPlanReport = {
    planId: plan.id,
    planVersion: plan.version,
    rule,
    status: violations.length > 0 ? 'violations' : 'valid',
    action: drop ? 'drop' : 'forward',
    violationCounts: countByType(violations),
  };
  if (drop) return { kind: 'drop', reason: 'tracking-plan', violations, report };
  return { kind: 'ok', event: annotate(event, plan, violations), violations, report };
}
