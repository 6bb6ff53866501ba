import { buildSnapshot, parseWorkspace, WorkspaceSnapshot } from '@sluice/workspace';
import { fanOutReadsFreeFormFields, planFanOut, SluiceEvent, TrackingPlanCompiler } from '../src';

function snapshot(extra: Record<string, unknown> = {}): WorkspaceSnapshot {
  const res = parseWorkspace({
    sources: [
      { id: 'web', name: 'Web', type: 'http', writeKey: 'web-write-key' },
      { id: 'off', name: 'Off', type: 'http', writeKey: 'off-write-key', enabled: false },
    ],
    destinations: [
      { id: 'lake', name: 'Lake', type: 'delta', config: { location: '/tmp/lake' } },
      {
        id: 'hook',
        name: 'Orders hook',
        type: 'webhook',
        config: { url: 'http://127.0.0.1:9/h' },
        eventFilters: { allow: { types: ['track'] } },
      },
      { id: 'amp', name: 'Amp', type: 'amplitude', config: { apiKey: 'k' }, consentCategories: ['analytics'] },
      { id: 'paused', name: 'Paused', type: 'webhook', enabled: false, config: { url: 'http://127.0.0.1:9/p' } },
    ],
    connections: [
      { sourceId: 'web', destinationId: 'lake' },
      { sourceId: 'web', destinationId: 'hook', transformationId: 'tx' },
      { sourceId: 'web', destinationId: 'amp' },
      { sourceId: 'web', destinationId: 'paused' },
      { sourceId: 'off', destinationId: 'hook' },
    ],
    transformations: [{ id: 'tx', name: 'T', code: 'export function transformEvent(e) { return e }' }],
    suppressedUsers: { userIds: ['gone'] },
    ...extra,
  });
  if (!res.ok) throw new Error(res.problems.join('\n'));
  return buildSnapshot(res.config);
}

const track = (over: Partial<SluiceEvent> = {}): SluiceEvent => ({
  type: 'track',
  event: 'Order Completed',
  messageId: 'm-1',
  anonymousId: 'a-1',
  userId: 'u-1',
  properties: { order_id: 'o1', revenue: 5 },
  context: {},
  ...over,
});

describe('planFanOut', () => {
  it('delivers to each connected destination, with the transformation and lake flags', () => {
    const plan = planFanOut(track(), snapshot(), 'web');
    expect(plan.kind).toBe('ok');
    if (plan.kind !== 'ok') return;
    expect(plan.destinations.map((d) => [d.destinationId, d.kind])).toEqual([
      ['lake', 'deliver'],
      ['hook', 'deliver'],
      ['amp', 'deliver'],
      ['paused', 'filtered'],
    ]);
    expect(plan.destinations[1]).toMatchObject({ transformationId: 'tx', lake: false, destinationType: 'webhook' });
    expect(plan.destinations[3]).toMatchObject({ reason: 'disabled' });
    expect(plan.processed.lakeDestinationIds).toEqual(['lake']);
    expect(plan.identityEdges).toEqual([]);
  });

  it('gives the reason a destination was filtered', () => {
    const ev = track({
      integrations: { Amplitude: false },
      context: { consent: { categoryPreferences: { analytics: false } } },
    });
    const plan = planFanOut(ev, snapshot(), 'web');
    if (plan.kind !== 'ok') throw new Error('expected ok');
    expect(plan.destinations.find((d) => d.destinationId === 'amp')).toMatchObject({
      kind: 'filtered',
      reason: 'integrations',
    });

    const consentOnly = planFanOut(
      track({ context: { consent: { categoryPreferences: { analytics: false } } } }),
      snapshot(),
      'web',
    );
    if (consentOnly.kind !== 'ok') throw new Error('expected ok');
    expect(consentOnly.destinations.find((d) => d.destinationId === 'amp')).toMatchObject({
      kind: 'filtered',
      reason: 'consent',
      detail: 'segment: no consent for analytics',
    });

    const identify = planFanOut(
      { type: 'identify', messageId: 'm-2', anonymousId: 'a-1', userId: 'u-1' },
      snapshot(),
      'web',
    );
    if (identify.kind !== 'ok') throw new Error('expected ok');
    expect(identify.destinations.find((d) => d.destinationId === 'hook')).toMatchObject({
      kind: 'filtered',
      reason: 'filter',
      detail: 'allow-type',
    });
    expect(identify.identityEdges).toHaveLength(1);

    const lakeOff = planFanOut(track({ integrations: { All: false, Amp: { x: 1 } } }), snapshot(), 'web');
    if (lakeOff.kind !== 'ok') throw new Error('expected ok');
    expect(lakeOff.processed.lakeDestinationIds).toEqual([]);
    expect(lakeOff.destinations.filter((d) => d.kind === 'deliver')).toEqual([
      expect.objectContaining({ destinationId: 'amp', integrationOptions: { x: 1 } }),
    ]);
  });

  it('drops suppressed users, unknown and disabled sources entirely', () => {
    expect(planFanOut(track({ userId: 'gone' }), snapshot(), 'web')).toMatchObject({
      kind: 'drop',
      reason: 'suppressed',
    });
    expect(planFanOut(track(), snapshot(), 'nope')).toMatchObject({ kind: 'drop', reason: 'unknown-source' });
    expect(planFanOut(track(), snapshot(), 'off')).toMatchObject({ kind: 'drop', reason: 'source-disabled' });
  });

  it('applies the source tracking plan before fan-out', () => {
    const snap = snapshot({
      trackingPlans: [
        {
          id: 'tp',
          version: 2,
          sourceIds: ['web'],
          rules: {
            events: {
              'Order Completed': {
                properties: { properties: { order_id: { type: 'string' } }, required: ['order_id'] },
              },
            },
          },
          settings: { allowUnplannedEvents: false, anyOtherViolation: 'forward', unplannedProperties: 'forward' },
        },
      ],
    });
    const compiler = new TrackingPlanCompiler();
    const ok = planFanOut(track(), snap, 'web', { compiler });
    if (ok.kind !== 'ok') throw new Error('expected ok');
    expect(ok.processed.event.context).toMatchObject({ trackingPlanId: 'tp', trackingPlanVersion: 2 });
    expect(ok.violations.map((v) => v.type)).toEqual(['Additional-Properties']);
    expect((ok.destinations[0] as { event: SluiceEvent }).event).toBe(ok.processed.event);

    const unplanned = planFanOut(track({ event: 'Other' }), snap, 'web', { compiler });
    expect(unplanned).toMatchObject({
      kind: 'drop',
      reason: 'tracking-plan',
      trackingPlan: { rule: '(unplanned)', action: 'drop' },
    });
  });

  it('never mutates the input event', () => {
    const ev = track();
    const before = JSON.stringify(ev);
    planFanOut(ev, snapshot(), 'web');
    expect(JSON.stringify(ev)).toBe(before);
  });
});

describe('fanOutReadsFreeFormFields', () => {
  const plain = () =>
    snapshot({
      connections: [
        { sourceId: 'web', destinationId: 'lake' },
        { sourceId: 'web', destinationId: 'hook', transformationId: 'tx' },
        { sourceId: 'web', destinationId: 'paused' },
      ],
    });

  it('is true only where a tracking plan or a consent category reads them', () => {
    expect(fanOutReadsFreeFormFields(snapshot(), 'web')).toBe(true);
    expect(fanOutReadsFreeFormFields(plain(), 'web')).toBe(false);
    const planned = snapshot({
      connections: [{ sourceId: 'web', destinationId: 'lake' }],
      trackingPlans: [{ id: 'tp', name: 'TP', version: 1, sourceIds: ['web'], rules: { events: {} } }],
    });
    expect(fanOutReadsFreeFormFields(planned, 'web')).toBe(true);
  });

  it('where false, planFanOut decides the same without properties, traits and context', () => {
    const events: SluiceEvent[] = [
      track(),
      track({ integrations: { All: false, Webhook: true } }),
      track({ userId: 'gone' }),
      { type: 'identify', messageId: 'm-2', anonymousId: 'a-2', userId: 'u-2', traits: { plan: 'pro' }, context: {} },
      { type: 'alias', messageId: 'm-3', previousId: 'u-old', userId: 'u-3', context: { traits: { x: 1 } } },
      { type: 'page', messageId: 'm-4', anonymousId: 'a-4', name: 'Home', properties: { path: '/' } },
    ];
    const snap = plain();
    for (const e of events) {
      const { properties: _p, traits: _t, context: _c, ...bare } = e;
      const strip = (p: ReturnType<typeof planFanOut>) =>
        JSON.parse(
          JSON.stringify(p, (k, v: unknown) => (k === 'event' && typeof v === 'object' ? undefined : v)),
        ) as unknown;
      expect(strip(planFanOut(bare as SluiceEvent, snap, 'web', { nowMs: 1 }))).toEqual(
        strip(planFanOut(e, snap, 'web', { nowMs: 1 })),
      );
    }
  });
});
