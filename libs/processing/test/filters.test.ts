import { checkSuppression, evaluateEventFilters, evaluateIntegrations, SluiceEvent } from '../src';
import { normalizeIntegrationName } from '@sluice/workspace';

describe('checkSuppression', () => {
  const list = { suppressedUserIds: new Set(['u-1']), suppressedAnonymousIds: new Set(['a-1']) };
  it('drops events of suppressed users by userId, anonymousId or alias previousId', () => {
    expect(checkSuppression({ type: 'track', userId: 'u-1' }, list)).toEqual({
      kind: 'drop',
      reason: 'suppressed',
      matched: 'userId',
    });
    expect(checkSuppression({ type: 'page', anonymousId: 'a-1', userId: 'u-2' }, list)).toEqual({
      kind: 'drop',
      reason: 'suppressed',
      matched: 'anonymousId',
    });
    expect(checkSuppression({ type: 'alias', previousId: 'u-1', userId: 'u-9' }, list).kind).toBe('drop');
  });
  it('lets others through', () => {
    expect(checkSuppression({ type: 'track', userId: 'u-2', anonymousId: 'a-2' }, list)).toEqual({ kind: 'ok' });
  });
});

describe('evaluateIntegrations', () => {
  const amplitude = {
    integrationNames: ['Product analytics', 'amplitude', 'Amplitude', 'AM'].map(normalizeIntegrationName),
  };
  const ga4 = { integrationNames: ['Marketing GA', 'ga4', 'Google Analytics 4', 'GA4'].map(normalizeIntegrationName) };
  const ev = (integrations?: Record<string, unknown>): SluiceEvent => ({ type: 'track', event: 'e', integrations });

  it('All defaults to true', () => {
    expect(evaluateIntegrations(ev(), amplitude)).toEqual({ allowed: true });
    expect(evaluateIntegrations(ev({ Mixpanel: false }), amplitude)).toEqual({ allowed: true });
  });
  it('"Name": false excludes, by type display name or destination name, ignoring case', () => {
    expect(evaluateIntegrations(ev({ amplitude: false }), amplitude)).toEqual({
      allowed: false,
      matchedKey: 'amplitude',
    });
    expect(evaluateIntegrations(ev({ 'google analytics 4': false }), ga4).allowed).toBe(false);
    expect(evaluateIntegrations(ev({ 'PRODUCT ANALYTICS': false }), amplitude).allowed).toBe(false);
  });
  it('All: false excludes everything not named, true or an object includes', () => {
    expect(evaluateIntegrations(ev({ All: false }), amplitude)).toEqual({ allowed: false, matchedKey: 'All' });
    expect(evaluateIntegrations(ev({ All: false, Amplitude: true }), amplitude)).toEqual({
      allowed: true,
      matchedKey: 'Amplitude',
    });
    expect(evaluateIntegrations(ev({ All: false, Amplitude: { session_id: 42 } }), amplitude)).toEqual({
      allowed: true,
      matchedKey: 'Amplitude',
      options: { session_id: 42 },
    });
    expect(evaluateIntegrations(ev({ All: false, Amplitude: true }), ga4).allowed).toBe(false);
  });
  it('the destination name wins over its type name', () => {
    expect(evaluateIntegrations(ev({ Amplitude: false, 'Product analytics': true }), amplitude).allowed).toBe(true);
    expect(evaluateIntegrations(ev({ Amplitude: true, 'Product analytics': false }), amplitude).allowed).toBe(false);
  });
});

describe('evaluateEventFilters', () => {
  const t = (event: string): SluiceEvent => ({ type: 'track', event });
  it('no filters: everything passes', () => {
    expect(evaluateEventFilters(t('x'), undefined)).toEqual({ allowed: true });
  });
  it('deny by type and by event name', () => {
    const f = { deny: { types: ['identify' as const], events: ['Debug Ping'] } };
    expect(evaluateEventFilters({ type: 'identify', userId: 'u' }, f)).toEqual({ allowed: false, rule: 'deny-type' });
    expect(evaluateEventFilters(t('Debug Ping'), f)).toEqual({ allowed: false, rule: 'deny-event' });
    expect(evaluateEventFilters(t('Order Completed'), f).allowed).toBe(true);
    expect(evaluateEventFilters({ type: 'page', name: 'Debug Ping' }, f).allowed).toBe(false);
  });
  it('allow lists: types restrict all events, names restrict named events only', () => {
    const f = { allow: { types: ['track' as const, 'identify' as const], events: ['Order Completed'] } };
    expect(evaluateEventFilters(t('Order Completed'), f).allowed).toBe(true);
    expect(evaluateEventFilters(t('Cart Viewed'), f)).toEqual({ allowed: false, rule: 'allow-event' });
    expect(evaluateEventFilters({ type: 'identify', userId: 'u' }, f).allowed).toBe(true);
    expect(evaluateEventFilters({ type: 'page', name: 'Home' }, f)).toEqual({ allowed: false, rule: 'allow-type' });
  });
  it('deny wins over allow', () => {
    const f = { allow: { events: ['A'] }, deny: { events: ['A'] } };
    expect(evaluateEventFilters(t('A'), f)).toEqual({ allowed: false, rule: 'deny-event' });
  });
});
