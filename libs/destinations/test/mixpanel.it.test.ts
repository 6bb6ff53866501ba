import { startMixpanelStandIn, type MixpanelStandIn } from '@sluice/standins';
import { basicAuth, deliver, jsonRequest } from '../src';
import { all, manyTracks, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('mixpanel → stand-in', () => {
  let mp: MixpanelStandIn;
  beforeAll(async () => {
    mp = await startMixpanelStandIn({
      projectToken: 'tok',
      projectId: '42',
      serviceAccount: { username: 'sa.user', secret: 'sa-secret' },
    });
  });
  afterAll(() => mp.close());
  beforeEach(() => mp.reset());

  it('imports events, sets profiles and groups (project token auth)', async () => {
    const d = configureHttp('mixpanel', { projectToken: 'tok', baseUrl: mp.url });
    expect(await sendAll(d, all())).toEqual(Array(4).fill({ kind: 'ok' }));
    expect(mp.events.map((e) => e.event)).toEqual(['Button Clicked', 'Loaded a Page', 'Loaded a Screen']);
    expect(mp.profiles.get('user-12345')).toMatchObject({ $email: 'ada@example.com', $first_name: 'Ada' });
    expect(mp.groups.get('company/acme-inc')).toEqual({ name: 'Acme', employees: 42 });
  });

  it('service account auth; long messageIds become valid $insert_ids; retries do not duplicate', async () => {
    const d = configureHttp('mixpanel', {
      projectToken: 'tok',
      baseUrl: mp.url,
      serviceAccount: { username: 'sa.user', secret: 'sa-secret' },
      projectId: '42',
    });
    const events = manyTracks(3, 'u').map((e, i) => ({
      ...e,
      messageId: `node-next-1700000000000-some-long-sdk-message-id-${i}`,
    }));
    const delivery = d.transform(events).deliveries[0]!;
    mp.failNext(1, { status: 502 });
    expect((await d.send(delivery, runtime)).kind).toBe('retry');
    expect(await d.send(delivery, runtime)).toEqual({ kind: 'ok' });
    expect(await d.send(delivery, runtime)).toEqual({ kind: 'ok' });
    expect(mp.events).toHaveLength(3);
    expect(mp.events.map((e) => (e.properties as { i: number }).i)).toEqual([0, 1, 2]);
  });

  it('wrong credentials → 401 abort; 429 → retry', async () => {
    const bad = configureHttp('mixpanel', { projectToken: 'other', baseUrl: mp.url });
    expect(await sendAll(bad, [track()])).toEqual([{ kind: 'abort', reason: 'Mixpanel 401: Invalid credentials' }]);
    const d = configureHttp('mixpanel', { projectToken: 'tok', baseUrl: mp.url });
    mp.rateLimitNext(1, 2);
    expect((await sendAll(d, [track()]))[0]).toMatchObject({ kind: 'retry', retryAfterMs: 2000 });
  });

  it('strict /import rejects bad records with failed_records and keeps the good ones', async () => {
    const d = configureHttp('mixpanel', { projectToken: 'tok', baseUrl: mp.url });
    const payload = jsonRequest(
      'POST',
      `${mp.url}/import?strict=1`,
      [
        { event: 'ok', properties: { time: 1_700_000_000_000, distinct_id: 'u', $insert_id: 'good-1' } },
        { event: 'bad', properties: { time: 'yesterday', distinct_id: 'u', $insert_id: 'bad-1' } },
      ],
      { authorization: basicAuth('tok', '') },
    );
    const outcome = await deliver(payload, runtime);
    expect(outcome).toMatchObject({ response: { status: 400 } });
    expect(d.classify(outcome, { messageIds: ['m-good', 'm-bad'], payload })).toEqual({
      kind: 'partial',
      events: { 'm-bad': { kind: 'abort', reason: expect.stringContaining('properties.time') } },
    });
    expect(mp.events.map((e) => e.event)).toEqual(['ok']);
  });

  it('/engage with a wrong token answers 200 status 0, which classify aborts', async () => {
    const d = configureHttp('mixpanel', { projectToken: 'wrong', baseUrl: mp.url });
    const identifyOnly = all().filter((e) => e.type === 'identify');
    expect(await sendAll(d, identifyOnly)).toEqual([{ kind: 'abort', reason: 'Mixpanel: $token, invalid or missing' }]);
  });
});
