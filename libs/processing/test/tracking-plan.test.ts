import { applyTrackingPlan, SluiceEvent, TrackingPlanCompiler } from '../src';
import type { TrackingPlan } from '@sluice/workspace';

function plan(settings: Partial<TrackingPlan['settings']> = {}): TrackingPlan {
  return {
    id: 'tp-web',
    version: 3,
    sourceIds: ['web'],
    rules: {
      events: {
        'Order Completed': {
          properties: {
            type: 'object',
            properties: {
              order_id: { type: 'string' },
              revenue: { type: 'number' },
              currency: { type: 'string', enum: ['EUR', 'USD'] },
            },
            required: ['order_id', 'revenue'],
          },
        },
        'Free Form': { properties: { type: 'object', additionalProperties: true } },
        'No Schema': {},
      },
      identify: {
        traits: { type: 'object', properties: { email: { type: 'string', format: 'email' } }, required: ['email'] },
      },
    },
    settings: { allowUnplannedEvents: true, unplannedProperties: 'forward', anyOtherViolation: 'forward', ...settings },
  };
}

const order = (properties: Record<string, unknown>): SluiceEvent => ({
  type: 'track',
  event: 'Order Completed',
  messageId: 'm1',
  properties,
  context: { library: { name: 'test' } },
});

describe('applyTrackingPlan', () => {
  const compiler = new TrackingPlanCompiler();

  it('a valid event is forwarded with the plan id and version, without violations', () => {
    const ev = order({ order_id: 'o1', revenue: 10, currency: 'EUR' });
    const out = applyTrackingPlan(ev, plan(), compiler);
    expect(out.kind).toBe('ok');
    if (out.kind !== 'ok') return;
    expect(out.event.context).toEqual({ library: { name: 'test' }, trackingPlanId: 'tp-web', trackingPlanVersion: 3 });
    expect(out.violations).toEqual([]);
    expect(out.report).toMatchObject({ rule: 'Order Completed', status: 'valid', action: 'forward' });
    expect(ev.context).toEqual({ library: { name: 'test' } });
  });

  it('forwards violations in context.violationErrors and counts them per type', () => {
    const out = applyTrackingPlan(order({ revenue: 'ten', currency: 'GBP', coupon: 'X' }), plan(), compiler);
    expect(out.kind).toBe('ok');
    if (out.kind !== 'ok') return;
    const errors = out.event.context?.violationErrors as {
      type: string;
      message: string;
      meta: Record<string, unknown>;
    }[];
    expect(errors.map((e) => e.type).sort()).toEqual([
      'Additional-Properties',
      'Datatype-Mismatch',
      'Required-Missing',
      'Unknown-Violation',
    ]);
    expect(errors.find((e) => e.type === 'Required-Missing')?.message).toBe(
      "properties must have required property 'order_id'",
    );
    expect(errors.find((e) => e.type === 'Additional-Properties')?.message).toBe(
      'properties.coupon is not in the tracking plan',
    );
    expect(errors.find((e) => e.type === 'Datatype-Mismatch')?.meta).toMatchObject({
      instancePath: '/revenue',
      keyword: 'type',
    });
    expect(out.report?.violationCounts).toEqual({
      'Required-Missing': 1,
      'Datatype-Mismatch': 1,
      'Unknown-Violation': 1,
      'Additional-Properties': 1,
    });
    expect(out.report?.status).toBe('violations');
  });

  it('drops on violations when anyOtherViolation is drop', () => {
    const out = applyTrackingPlan(order({ order_id: 'o1' }), plan({ anyOtherViolation: 'drop' }), compiler);
    expect(out).toMatchObject({
      kind: 'drop',
      reason: 'tracking-plan',
      report: { action: 'drop', status: 'violations' },
    });
  });

  it('unplanned properties follow their own setting', () => {
    const ev = order({ order_id: 'o1', revenue: 3, coupon: 'X' });
    expect(applyTrackingPlan(ev, plan({ unplannedProperties: 'drop' }), compiler).kind).toBe('drop');
    expect(applyTrackingPlan(ev, plan({ anyOtherViolation: 'drop' }), compiler).kind).toBe('ok');
    // Open schemas have no unplanned properties.
    const free: SluiceEvent = { type: 'track', event: 'Free Form', properties: { anything: 1 } };
    expect(applyTrackingPlan(free, plan({ unplannedProperties: 'drop' }), compiler)).toMatchObject({
      kind: 'ok',
      violations: [],
    });
  });

  it('unplanned events are forwarded with a violation when allowed, dropped when not', () => {
    const ev: SluiceEvent = { type: 'track', event: 'Mystery', properties: {} };
    const allowed = applyTrackingPlan(ev, plan({ allowUnplannedEvents: true }), compiler);
    expect(allowed.kind).toBe('ok');
    if (allowed.kind === 'ok') {
      expect(allowed.event.context?.violationErrors).toEqual([
        { type: 'Unplanned-Event', message: 'event "Mystery" is not in the tracking plan', meta: { event: 'Mystery' } },
      ]);
      expect(allowed.report).toMatchObject({ rule: '(unplanned)', status: 'unplanned', action: 'forward' });
    }
    const denied = applyTrackingPlan(ev, plan({ allowUnplannedEvents: false }), compiler);
    expect(denied).toMatchObject({ kind: 'drop', report: { rule: '(unplanned)', action: 'drop' } });
  });

  it('validates identify traits (top level or context.traits)', () => {
    const bad: SluiceEvent = { type: 'identify', userId: 'u', traits: { email: 'not-an-email' } };
    const out = applyTrackingPlan(bad, plan(), compiler);
    expect(out.violations.map((v) => v.type)).toEqual(['Unknown-Violation']);
    const good: SluiceEvent = { type: 'identify', userId: 'u', context: { traits: { email: 'a@b.co' } } };
    expect(applyTrackingPlan(good, plan(), compiler).violations).toEqual([]);
  });

  it('events with a rule but no schema, and other types, pass', () => {
    expect(
      applyTrackingPlan({ type: 'track', event: 'No Schema', properties: { x: 1 } }, plan(), compiler).violations,
    ).toEqual([]);
    const page = applyTrackingPlan({ type: 'page', name: 'Home' }, plan(), compiler);
    expect(page).toMatchObject({ kind: 'ok', report: undefined });
  });

  it('compiles a plan version once, also across equal copies (reloads)', () => {
    const c = new TrackingPlanCompiler();
    const p = plan();
    applyTrackingPlan(order({ order_id: 'a', revenue: 1 }), p, c);
    applyTrackingPlan(order({ order_id: 'b', revenue: 2 }), p, c);
    applyTrackingPlan(order({ order_id: 'c', revenue: 3 }), JSON.parse(JSON.stringify(p)) as TrackingPlan, c);
    expect(c.compiledCount).toBe(1);
    applyTrackingPlan(order({ order_id: 'd', revenue: 4 }), { ...p, version: 4 }, c);
    expect(c.compiledCount).toBe(2);
  });
});
