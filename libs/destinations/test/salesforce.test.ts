import { salesforce, salesforceAuth, salesforceConfigSchema, type HttpRequest } from '../src';
import { all, body, identify, networkError, response } from './fixtures';

const config = salesforceConfigSchema.parse({
  auth: {
    flow: 'password',
    clientId: 'cid',
    clientSecret: 'cs',
    username: 'u@x.com',
    password: 'pw',
    securityToken: 'TOK',
  },
});

describe('salesforce transform', () => {
  it('identify → PATCH upsert by external id (relative URL); other calls skipped', () => {
    const out = salesforce.transform(all(), config);
    expect(out.skipped.map((s) => s.messageId)).toEqual([
      'msg-track-1',
      'msg-page-1',
      'msg-screen-1',
      'msg-group-1',
      'msg-alias-1',
    ]);
    const req = out.deliveries[0]!.payload;
    expect(req.method).toBe('PATCH');
    expect(req.url).toBe('/services/data/v59.0/sobjects/Lead/Email/ada%40example.com');
    expect(body(req.body)).toEqual({ FirstName: 'Ada', LastName: 'Lovelace', City: 'London', Country: 'UK' });
  });

  it('defaults fill required Lead fields only when configured', () => {
    const c = salesforceConfigSchema.parse({ ...config, defaultCompany: 'Unknown', defaultLastName: 'Unknown' });
    expect(
      body(salesforce.transform([identify({ traits: { email: 'a@b.c' } })], c).deliveries[0]!.payload.body),
    ).toEqual({ LastName: 'Unknown', Company: 'Unknown' });
  });

  it('Lead gets LastName from name; field map and object are configurable; no key skipped', () => {
    const c = salesforceConfigSchema.parse({
      ...config,
      object: 'Contact',
      externalIdField: 'Ext_Id__c',
      externalIdTrait: 'crmId',
      fieldMap: { plan: 'Plan__c' },
    });
    const out = salesforce.transform(
      [
        identify({ traits: { crmId: 'c-1', plan: 'pro', email: 'a@b.c' } }),
        identify({ messageId: 'x', traits: { email: 'z@z.z' } }),
      ],
      c,
    );
    expect(out.deliveries[0]!.payload.url).toBe('/services/data/v59.0/sobjects/Contact/Ext_Id__c/c-1');
    expect(body(out.deliveries[0]!.payload.body)).toEqual({ Email: 'a@b.c', Plan__c: 'pro' });
    expect(out.skipped.map((s) => s.messageId)).toEqual(['x']);
    const lead = salesforce.transform(
      [identify({ traits: { email: 'a@b.c', name: 'Grace Brewster Hopper' } })],
      config,
    );
    expect(body(lead.deliveries[0]!.payload.body)).toMatchObject({ LastName: 'Hopper' });
  });
});

describe('salesforce auth', () => {
  it('password flow posts the form and reads access_token and instance_url', async () => {
    const sent: HttpRequest[] = [];
    const result = await salesforceAuth.fetchToken(
      config,
      async (r) => {
        sent.push(r);
        return response(200, {
          access_token: 'AT',
          instance_url: 'https://org.my.salesforce.com',
          token_type: 'Bearer',
        });
      },
      0,
    );
    expect(result).toEqual({ ok: true, token: { accessToken: 'AT', baseUrl: 'https://org.my.salesforce.com' } });
    expect(sent[0]!.url).toBe('https://login.salesforce.com/services/oauth2/token');
    expect(Object.fromEntries(new URLSearchParams(sent[0]!.body))).toEqual({
      client_id: 'cid',
      client_secret: 'cs',
      grant_type: 'password',
      username: 'u@x.com',
      password: 'pwTOK',
    });
  });
  it('bad credentials abort; token endpoint outages retry', async () => {
    const bad = await salesforceAuth.fetchToken(
      config,
      async () => response(400, { error: 'invalid_grant', error_description: 'authentication failure' }),
      0,
    );
    expect(bad).toEqual({
      ok: false,
      verdict: { kind: 'abort', reason: 'Salesforce token request failed: invalid_grant authentication failure' },
    });
    const down = await salesforceAuth.fetchToken(config, async () => networkError, 0);
    expect(down.ok === false && down.verdict.kind).toBe('retry');
  });
  it('applies the token and instance URL; 401 means the session expired', () => {
    const req = salesforceAuth.apply(
      { method: 'PATCH', url: '/services/x', headers: {} },
      { accessToken: 'AT', baseUrl: 'https://org.example' },
      config,
    );
    expect(req).toEqual({
      method: 'PATCH',
      url: 'https://org.example/services/x',
      headers: { authorization: 'Bearer AT' },
    });
    expect(salesforceAuth.isExpired(response(401, [{ errorCode: 'INVALID_SESSION_ID' }]))).toBe(true);
    expect(salesforceAuth.isExpired(response(400))).toBe(false);
  });
});

describe('salesforce classify', () => {
  const delivery = salesforce.transform([identify()], config).deliveries[0]!;
  const classify = (o: Parameters<NonNullable<typeof salesforce.classify>>[0]) =>
    salesforce.classify!(o, delivery, config);
  it('201/200/204 ok; 400 REQUIRED_FIELD_MISSING and 300 abort', () => {
    expect(classify(response(201, { id: '00Q', success: true, created: true }))).toEqual({ kind: 'ok' });
    expect(classify(response(204))).toEqual({ kind: 'ok' });
    expect(
      classify(
        response(400, [
          {
            message: 'Required fields are missing: [LastName]',
            errorCode: 'REQUIRED_FIELD_MISSING',
            fields: ['LastName'],
          },
        ]),
      ),
    ).toEqual({
      kind: 'abort',
      reason: 'Salesforce 400: REQUIRED_FIELD_MISSING: Required fields are missing: [LastName]',
    });
    expect(classify(response(300, ['/a', '/b'])).kind).toBe('abort');
  });
  it('REQUEST_LIMIT_EXCEEDED, UNABLE_TO_LOCK_ROW, 401 after refresh, 503 and network retry', () => {
    expect(
      classify(response(403, [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }])),
    ).toMatchObject({ kind: 'retry', retryAfterMs: 900_000 });
    expect(classify(response(403, [{ errorCode: 'INSUFFICIENT_ACCESS', message: 'no' }])).kind).toBe('abort');
    expect(classify(response(400, [{ errorCode: 'UNABLE_TO_LOCK_ROW', message: 'locked' }])).kind).toBe('retry');
    expect(
      classify(response(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }])).kind,
    ).toBe('retry');
    expect(classify(response(503, [{ errorCode: 'SERVER_UNAVAILABLE', message: 'x' }])).kind).toBe('retry');
    expect(classify(networkError).kind).toBe('retry');
  });
});
