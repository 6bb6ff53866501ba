import { startHubSpotStandIn, type HubSpotStandIn } from '@sluice/standins';
import { deliver, jsonRequest } from '../src';
import { identify, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('hubspot → stand-in', () => {
  let hs: HubSpotStandIn;
  beforeAll(async () => {
    hs = await startHubSpotStandIn({ accessToken: 'pat-good' });
  });
  afterAll(() => hs.close());
  beforeEach(() => hs.reset());
  const dest = (token = 'pat-good') => configureHttp('hubspot', { accessToken: token, baseUrl: hs.url, portalId: 123 });

  it('upserts contacts and sends custom events in event order, later traits winning', async () => {
    const events = [
      identify({ messageId: 'i1', traits: { email: 'ada@example.com', firstName: 'Ada', plan: 'free' } }),
      track({ messageId: 't1', event: 'Plan Upgraded', properties: { to: 'pro' } }),
      identify({ messageId: 'i2', traits: { email: 'ada@example.com', plan: 'pro' } }),
      identify({ messageId: 'i3', traits: { email: 'bob@example.com', lastName: 'Builder' } }),
    ];
    expect(await sendAll(dest(), events)).toEqual(Array(3).fill({ kind: 'ok' }));
    expect(hs.received.map((r) => r.path)).toEqual([
      '/crm/v3/objects/contacts/batch/upsert',
      '/events/v3/send/batch',
      '/crm/v3/objects/contacts/batch/upsert',
    ]);
    expect(hs.contacts.get('ada@example.com')).toMatchObject({ firstname: 'Ada', plan: 'pro' });
    expect(hs.contacts.get('bob@example.com')).toMatchObject({ lastname: 'Builder' });
    expect(hs.events).toEqual([
      expect.objectContaining({
        eventName: 'pe123_plan_upgraded',
        email: 'ada@example.com',
        properties: { to: 'pro' },
      }),
    ]);
  });

  it('a bad token gets 401 INVALID_AUTHENTICATION (abort); 429 retries after the window', async () => {
    expect(await sendAll(dest('pat-bad'), [identify()])).toEqual([
      { kind: 'abort', reason: expect.stringContaining('HubSpot 401 INVALID_AUTHENTICATION') },
    ]);
    hs.rateLimitNext(1);
    expect((await sendAll(dest(), [identify()]))[0]).toMatchObject({ kind: 'retry', retryAfterMs: 1000 });
    hs.failNext(1, { status: 502 });
    expect((await sendAll(dest(), [identify()]))[0]!.kind).toBe('retry');
    expect(await sendAll(dest(), [identify()])).toEqual([{ kind: 'ok' }]);
  });

  it('rejects what HubSpot rejects: duplicate ids, invalid email, unknown event, no identity', async () => {
    const d = dest();
    const upsert = `${hs.url}/crm/v3/objects/contacts/batch/upsert`;
    const auth = { authorization: 'Bearer pat-good' };
    const dup = jsonRequest(
      'POST',
      upsert,
      {
        inputs: [
          { idProperty: 'email', id: 'a@b.co', properties: {} },
          { idProperty: 'email', id: 'a@b.co', properties: {} },
        ],
      },
      auth,
    );
    const dupOut = await deliver(dup, runtime);
    expect(dupOut).toMatchObject({ response: { status: 400 } });
    expect(d.classify(dupOut, { messageIds: ['x', 'y'], payload: dup })).toMatchObject({
      kind: 'abort',
      reason: expect.stringContaining('Duplicate IDs'),
    });
    const badEmail = await deliver(
      jsonRequest('POST', upsert, { inputs: [{ idProperty: 'email', id: 'not-an-email', properties: {} }] }, auth),
      runtime,
    );
    expect(badEmail).toMatchObject({ response: { status: 400 } });
    const noIdentity = jsonRequest(
      'POST',
      `${hs.url}/events/v3/send/batch`,
      { inputs: [{ eventName: 'pe123_x', properties: {} }] },
      auth,
    );
    const out = await deliver(noIdentity, runtime);
    expect(d.classify(out, { messageIds: ['z'], payload: noIdentity })).toMatchObject({
      kind: 'abort',
      reason: expect.stringContaining('VALIDATION_ERROR'),
    });
    expect(hs.contacts.size).toBe(0);
  });
});
