import { startSalesforceStandIn, type SalesforceStandIn } from '@sluice/standins';
import { identify, track } from './fixtures';
import { configureHttp, runtime, sendAll } from './it-helpers';

describe('salesforce → stand-in (OAuth + sObject upsert)', () => {
  let sf: SalesforceStandIn;
  beforeAll(async () => {
    sf = await startSalesforceStandIn({
      clientId: 'cid',
      clientSecret: 'csecret',
      username: 'int@example.com',
      password: 'pwTOKEN',
    });
  });
  afterAll(() => sf.close());
  beforeEach(() => sf.reset());
  const config = (over: Record<string, unknown> = {}) => ({
    loginUrl: sf.url,
    defaultCompany: 'Unknown',
    auth: {
      flow: 'password',
      clientId: 'cid',
      clientSecret: 'csecret',
      username: 'int@example.com',
      password: 'pw',
      securityToken: 'TOKEN',
    },
    ...over,
  });

  it('fetches a token once, creates then updates the Lead (later identifies keep earlier fields)', async () => {
    const d = configureHttp('salesforce', { ...config(), defaultCompany: undefined });
    const first = identify({ traits: { ...identify().traits, company: 'Analytical Engines' } });
    expect(
      await sendAll(d, [
        first,
        track(),
        identify({ messageId: 'i2', traits: { email: 'ada@example.com', phone: '+44 1' } }),
      ]),
    ).toEqual([{ kind: 'ok' }, { kind: 'ok' }]);
    expect(sf.tokensIssued).toHaveLength(1);
    expect(sf.records.get('Lead:Email:ada@example.com')).toEqual({
      FirstName: 'Ada',
      LastName: 'Lovelace',
      City: 'London',
      Country: 'UK',
      Company: 'Analytical Engines',
      Phone: '+44 1',
      Email: 'ada@example.com',
    });
    const statuses = sf.requests.filter((r) => r.method === 'PATCH').map((r) => r.headers.authorization);
    expect(new Set(statuses).size).toBe(1);
  });

  it('401 INVALID_SESSION_ID → fetches a new token and the retry succeeds', async () => {
    const d = configureHttp('salesforce', config());
    expect(await sendAll(d, [identify()])).toEqual([{ kind: 'ok' }]);
    sf.expireSessions();
    expect(
      await sendAll(d, [identify({ messageId: 'again', traits: { email: 'ada@example.com', title: 'Countess' } })]),
    ).toEqual([{ kind: 'ok' }]);
    expect(sf.tokensIssued).toHaveLength(2);
    const patches = sf.requests.filter((r) => r.method === 'PATCH');
    expect(patches).toHaveLength(3);
    expect(patches[1]!.headers.authorization).toBe(`Bearer ${sf.tokensIssued[0]}`);
    expect(patches[2]!.headers.authorization).toBe(`Bearer ${sf.tokensIssued[1]}`);
    expect(sf.records.get('Lead:Email:ada@example.com')).toMatchObject({ Title: 'Countess' });
  });

  it('client credentials flow works too; bad credentials abort', async () => {
    const cc = configureHttp(
      'salesforce',
      config({ auth: { flow: 'client_credentials', clientId: 'cid', clientSecret: 'csecret' } }),
    );
    expect(await sendAll(cc, [identify()])).toEqual([{ kind: 'ok' }]);
    const bad = configureHttp(
      'salesforce',
      config({
        auth: {
          flow: 'password',
          clientId: 'cid',
          clientSecret: 'csecret',
          username: 'int@example.com',
          password: 'wrong',
        },
      }),
    );
    expect(await sendAll(bad, [identify()])).toEqual([
      { kind: 'abort', reason: 'Salesforce token request failed: invalid_grant authentication failure' },
    ]);
  });

  it('rejects unknown fields and missing required fields like Salesforce; classify aborts them', async () => {
    const noDefaults = configureHttp('salesforce', { ...config(), defaultCompany: undefined });
    expect(await sendAll(noDefaults, [identify()])).toEqual([
      { kind: 'abort', reason: 'Salesforce 400: REQUIRED_FIELD_MISSING: Required fields are missing: [Company]' },
    ]);
    const unknownField = configureHttp('salesforce', config({ fieldMap: { plan: 'Plan__c' } }));
    expect(await sendAll(unknownField, [identify()])).toEqual([
      { kind: 'abort', reason: "Salesforce 400: INVALID_FIELD: No such column 'Plan__c' on sobject of type Lead" },
    ]);
    const contact = configureHttp('salesforce', config({ object: 'Contact' }));
    expect(await sendAll(contact, [identify({ traits: { email: 'x@example.com', firstName: 'X' } })])).toEqual([
      { kind: 'abort', reason: 'Salesforce 400: REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]' },
    ]);
  });

  it('API limit (403 REQUEST_LIMIT_EXCEEDED) and 503 retry; token endpoint down retries', async () => {
    const d = configureHttp('salesforce', config());
    expect(await sendAll(d, [identify()])).toEqual([{ kind: 'ok' }]);
    sf.failNext(1, { status: 403 });
    expect((await sendAll(d, [identify()]))[0]).toMatchObject({ kind: 'retry', retryAfterMs: 900_000 });
    sf.failNext(1, { status: 503 });
    expect((await sendAll(d, [identify()]))[0]!.kind).toBe('retry');
    const fresh = configureHttp('salesforce', config());
    sf.setDown(true);
    expect((await sendAll(fresh, [identify()], runtime))[0]).toMatchObject({
      kind: 'retry',
      reason: expect.stringContaining('token request failed'),
    });
    sf.setDown(false);
  });
});
