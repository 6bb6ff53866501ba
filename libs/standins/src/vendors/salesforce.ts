import { randomBytes } from 'node:crypto';
import { bearer, isRecord, startStandIn, type StandIn, type StandInOptions } from '../server';

export interface SalesforceStandInOptions extends StandInOptions {
  clientId?: string;
  clientSecret?: string;
  username?: string;
  /** Password followed by the security token, as the password flow sends it. */
  password?: string;
}

export interface SalesforceStandIn extends StandIn {
  /** `<object>:<externalIdField>:<value>` → fields. */
  records: Map<string, Record<string, unknown>>;
  /** Access tokens issued so far. */
  tokensIssued: string[];
  /** Invalidates every issued token: the next data call answers 401 INVALID_SESSION_ID. */
  expireSessions(): void;
}

const FIELDS: Record<string, Set<string>> = {
  Lead: new Set([
    'FirstName',
    'LastName',
    'Email',
    'Phone',
    'Title',
    'Company',
    'Website',
    'Description',
    'Street',
    'City',
    'State',
    'PostalCode',
    'Country',
    'LeadSource',
    'Status',
  ]),
  Contact: new Set([
    'FirstName',
    'LastName',
    'Email',
    'Phone',
    'Title',
    'Description',
    'MailingStreet',
    'MailingCity',
    'MailingState',
    'MailingPostalCode',
    'MailingCountry',
    'LeadSource',
  ]),
};
const REQUIRED: Record<string, string[]> = { Lead: ['LastName', 'Company'], Contact: ['LastName'] };
const ID_PREFIX: Record<string, string> = { Lead: '00Q', Contact: '003' };

const sfError = (status: number, errorCode: string, message: string, fields?: string[]) => ({
  status,
  body: [{ message, errorCode, ...(fields ? { fields } : {}) }],
  accepted: false,
});

/** Salesforce OAuth 2.0 token endpoint (password and client credentials flows) and sObject upsert by external id. */
export async function startSalesforceStandIn(opts: SalesforceStandInOptions = {}): Promise<SalesforceStandIn> {
  const clientId = opts.clientId ?? 'sf-client';
  const clientSecret = opts.clientSecret ?? 'sf-secret';
  const username = opts.username ?? 'integration@example.com';
  const password = opts.password ?? 'passwordTOKEN';
  const records = new Map<string, Record<string, unknown>>();
  const ids = new Map<string, string>();
  const valid = new Set<string>();
  const tokensIssued: string[] = [];
  let baseUrl = '';
  let seq = 1;

  const standIn = await startStandIn(
    {
      name: 'salesforce',
      errorBody: (status) =>
        status === 403
          ? [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]
          : [
              {
                message: status === 503 ? 'Server unavailable' : 'An unexpected error occurred.',
                errorCode: status === 503 ? 'SERVER_UNAVAILABLE' : 'UNKNOWN_EXCEPTION',
              },
            ],
      reset: () => {
        records.clear();
        tokensIssued.length = 0;
        valid.clear();
      },
      handle(req) {
        if (req.path === '/services/oauth2/token' && req.method === 'POST') {
          const form = new URLSearchParams(req.body);
          if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
            return {
              status: 400,
              body: { error: 'invalid_client_id', error_description: 'client identifier invalid' },
              accepted: false,
            };
          }
          const grant = form.get('grant_type');
          if (grant === 'password') {
            if (form.get('username') !== username || form.get('password') !== password) {
              return {
                status: 400,
                body: { error: 'invalid_grant', error_description: 'authentication failure' },
                accepted: false,
              };
            }
          } else if (grant !== 'client_credentials') {
            return {
              status: 400,
              body: { error: 'unsupported_grant_type', error_description: 'grant type not supported' },
              accepted: false,
            };
          }
          const token = `00D${randomBytes(12).toString('hex')}`;
          valid.add(token);
          tokensIssued.push(token);
          return {
            status: 200,
            body: {
              access_token: token,
              instance_url: baseUrl,
              id: `${baseUrl}/id/00Dstandin/005standin`,
              token_type: 'Bearer',
              issued_at: String(Date.now()),
              signature: 'standin',
            },
            accepted: true,
          };
        }
        const token = bearer(req.headers.authorization);
        if (!token || !valid.has(token)) return sfError(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
        const m = /^\/services\/data\/v\d+\.\d\/sobjects\/([^/]+)\/([^/]+)\/([^/]+)$/.exec(req.path);
        if (!m) return sfError(404, 'NOT_FOUND', 'The requested resource does not exist');
        const object = decodeURIComponent(m[1]!);
        const field = decodeURIComponent(m[2]!);
        const value = decodeURIComponent(m[3]!);
        const allowed = FIELDS[object];
        if (!allowed)
          return sfError(
            404,
            'NOT_FOUND',
            `The requested resource does not exist: sObject type '${object}' is not supported`,
          );
        if (req.method !== 'PATCH')
          return sfError(
            405,
            'METHOD_NOT_ALLOWED',
            `HTTP Method '${req.method}' not allowed. Allowed are HEAD,GET,PATCH,DELETE`,
          );
        if (!allowed.has(field))
          return sfError(400, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${field}`);
        if (!isRecord(req.json)) return sfError(400, 'JSON_PARSER_ERROR', 'The request body is not a JSON object');
        const body = req.json;
        for (const k of Object.keys(body)) {
          if (k === field || k === 'Id')
            return sfError(
              400,
              'INVALID_FIELD',
              `Unable to create/update fields: ${k}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
              [k],
            );
          if (!allowed.has(k))
            return sfError(400, 'INVALID_FIELD', `No such column '${k}' on sobject of type ${object}`);
        }
        const key = `${object}:${field}:${value}`;
        const existing = records.get(key);
        const merged = { ...(existing ?? {}), ...body, [field]: value };
        if (!existing) {
          const missing = (REQUIRED[object] ?? []).filter(
            (f) => merged[f] === undefined || merged[f] === null || merged[f] === '',
          );
          if (missing.length > 0)
            return sfError(
              400,
              'REQUIRED_FIELD_MISSING',
              `Required fields are missing: [${missing.join(', ')}]`,
              missing,
            );
          ids.set(key, `${ID_PREFIX[object] ?? 'a00'}${String(seq++).padStart(12, '0')}`);
        }
        records.set(key, merged);
        return {
          status: existing ? 200 : 201,
          body: { id: ids.get(key), success: true, errors: [], created: !existing },
          accepted: true,
        };
      },
    },
    opts,
  );
  baseUrl = standIn.url;
  return Object.assign(standIn, {
    records,
    tokensIssued,
    expireSessions() {
      valid.clear();
    },
  });
}
