import { evaluateConsent, SluiceEvent } from '../src';

const track = (context: Record<string, unknown> = {}): SluiceEvent => ({
  type: 'track',
  event: 'x',
  messageId: 'm',
  context,
});

describe('evaluateConsent', () => {
  it('lets everything through to a destination without categories', () => {
    const ev = track({ consentManagement: { deniedConsentIds: ['C1'], provider: 'oneTrust' } });
    expect(evaluateConsent(ev, { consentCategories: [] })).toEqual({ allowed: true, basis: 'no-categories' });
  });

  it('does not enforce consent on events without consent data', () => {
    expect(evaluateConsent(track(), { consentCategories: ['C1'] })).toEqual({
      allowed: true,
      basis: 'no-consent-data',
    });
    expect(evaluateConsent({ type: 'track' }, { consentCategories: ['C1'] }).allowed).toBe(true);
  });

  describe('RudderStack context.consentManagement', () => {
    const dest = { consentCategories: ['C0002', 'C0004'] };

    it('blocks when a category of the destination is denied (and, the default)', () => {
      const ev = track({
        consentManagement: { provider: 'oneTrust', allowedConsentIds: ['C0002'], deniedConsentIds: ['C0004'] },
      });
      expect(evaluateConsent(ev, dest)).toEqual({ allowed: false, framework: 'rudderstack', missing: ['C0004'] });
    });

    it('allows when every category is allowed and none denied', () => {
      const ev = track({
        consentManagement: {
          provider: 'oneTrust',
          allowedConsentIds: ['C0002', 'C0004', 'C0001'],
          deniedConsentIds: ['C0003'],
        },
      });
      expect(evaluateConsent(ev, dest).allowed).toBe(true);
    });

    it('with only deniedConsentIds, categories not denied count as granted', () => {
      const ok = track({ consentManagement: { provider: 'ketch', deniedConsentIds: ['C0009'] } });
      expect(evaluateConsent(ok, dest).allowed).toBe(true);
      const bad = track({ consentManagement: { provider: 'ketch', deniedConsentIds: ['C0002'] } });
      expect(evaluateConsent(bad, dest).allowed).toBe(false);
    });

    it('with allowedConsentIds given, a category missing from it is not granted', () => {
      const ev = track({
        consentManagement: { provider: 'custom', resolutionStrategy: 'and', allowedConsentIds: ['C0002'] },
      });
      expect(evaluateConsent(ev, dest)).toEqual({ allowed: false, framework: 'rudderstack', missing: ['C0004'] });
    });

    it('or: one granted category is enough; none is not', () => {
      const one = track({
        consentManagement: {
          provider: 'custom',
          resolutionStrategy: 'or',
          allowedConsentIds: ['C0004'],
          deniedConsentIds: ['C0002'],
        },
      });
      expect(evaluateConsent(one, dest).allowed).toBe(true);
      const none = track({
        consentManagement: {
          provider: 'custom',
          resolutionStrategy: 'or',
          allowedConsentIds: [],
          deniedConsentIds: ['C0002', 'C0004'],
        },
      });
      expect(evaluateConsent(none, dest)).toEqual({
        allowed: false,
        framework: 'rudderstack',
        missing: ['C0002', 'C0004'],
      });
    });

    it('falls back to the destination strategy when the event gives none', () => {
      const ev = track({
        consentManagement: { provider: 'custom', allowedConsentIds: ['C0004'], deniedConsentIds: ['C0002'] },
      });
      expect(evaluateConsent(ev, { ...dest, consentResolutionStrategy: 'or' }).allowed).toBe(true);
      expect(evaluateConsent(ev, { ...dest, consentResolutionStrategy: 'and' }).allowed).toBe(false);
    });

    it('compares category ids case-sensitively', () => {
      const ev = track({
        consentManagement: { provider: 'custom', resolutionStrategy: 'and', allowedConsentIds: ['c0002', 'c0004'] },
      });
      expect(evaluateConsent(ev, dest).allowed).toBe(false);
    });
  });

  describe('Segment context.consent.categoryPreferences', () => {
    const dest = { consentCategories: ['Advertising', 'Analytics'] };

    it('needs every category of the destination to be true', () => {
      const yes = track({
        consent: { categoryPreferences: { Advertising: true, Analytics: true, Functional: false } },
      });
      expect(evaluateConsent(yes, dest)).toEqual({ allowed: true, basis: 'consented' });
      const partly = track({ consent: { categoryPreferences: { Advertising: true, Analytics: false } } });
      expect(evaluateConsent(partly, dest)).toEqual({ allowed: false, framework: 'segment', missing: ['Analytics'] });
    });

    it('treats a category absent from the preferences (or an empty object) as not consented', () => {
      const missing = track({ consent: { categoryPreferences: { Advertising: true } } });
      expect(evaluateConsent(missing, dest).allowed).toBe(false);
      const empty = track({ consent: { categoryPreferences: {} } });
      expect(evaluateConsent(empty, dest)).toEqual({
        allowed: false,
        framework: 'segment',
        missing: ['Advertising', 'Analytics'],
      });
    });

    it('a consent object without categoryPreferences enforces nothing', () => {
      expect(evaluateConsent(track({ consent: {} }), dest).allowed).toBe(true);
    });
  });

  it('with both vendors present, each must allow', () => {
    const ev = track({
      consentManagement: { provider: 'custom', resolutionStrategy: 'and', allowedConsentIds: ['A'] },
      consent: { categoryPreferences: { A: false } },
    });
    expect(evaluateConsent(ev, { consentCategories: ['A'] })).toEqual({
      allowed: false,
      framework: 'segment',
      missing: ['A'],
    });
  });
});
