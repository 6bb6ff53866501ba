import { z } from 'zod';
import { collect, type Mapped } from '../core/collect';
import { at, isJsonObject, str, type JsonObject, type JsonValue, type SegmentEvent } from '../core/event';
import { defaultClassify, excerpt, isRecord, joinUrl, parseJson } from '../core/http';
import type { AuthStep, DeliveryVerdict, HttpDestinationDefinition, HttpOutcome, HttpRequest } from '../core/types';

const clientCredentials = z.object({
  flow: z.literal('client_credentials'),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
});
const passwordFlow = z.object({
  flow: z.literal('password'),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  username: z.string().min(1),
  password: z.string().min(1),
  /** Appended to the password unless the org trusts the caller's IP range. */
  securityToken: z.string().default(''),
});

export const salesforceConfigSchema = z.object({
  /** Where the token comes from: https://login.salesforce.com, test.salesforce.com, or the org's My Domain (client credentials). */
  loginUrl: z.string().url().default('https://login.salesforce.com'),
  auth: z.discriminatedUnion('flow', [passwordFlow, clientCredentials]),
  apiVersion: z
    .string()
    .regex(/^v\d+\.\d$/, 'like v59.0')
    .default('v59.0'),
  /** sObject to upsert: Lead or Contact (or a custom object). */
  object: z.string().min(1).default('Lead'),
  /** External ID field the upsert matches on, and the trait that holds its value. */
  externalIdField: z.string().min(1).default('Email'),
  externalIdTrait: z.string().min(1).default('email'),
  /** Trait (dotted path) → field, added to (and overriding) the built-in map. */
  fieldMap: z.record(z.string().min(1)).default({}),
  /**
   * Leads require Company and LastName on create. These fill them when the traits
   * lack them; an upsert cannot tell create from update, so a default also
   * overwrites the record's value on update. Unset: a create without them fails
   * with REQUIRED_FIELD_MISSING (aborted, dead-lettered).
   */
  defaultCompany: z.string().min(1).optional(),
  defaultLastName: z.string().min(1).optional(),
  batchSize: z.number().int().min(1).max(200).default(25),
});
export type SalesforceConfig = z.infer<typeof salesforceConfigSchema>;

const DEFAULT_FIELDS: Record<string, string> = {
  firstName: 'FirstName',
  first_name: 'FirstName',
  lastName: 'LastName',
  last_name: 'LastName',
  email: 'Email',
  phone: 'Phone',
  title: 'Title',
  company: 'Company',
  website: 'Website',
  description: 'Description',
  'address.street': 'Street',
  'address.city': 'City',
  'address.state': 'State',
  'address.postalCode': 'PostalCode',
  'address.postal_code': 'PostalCode',
  'address.country': 'Country',
};

type FieldValue = string | number | boolean | null;

/** Mapped traits only: Salesforce refuses a request naming a field the object lacks. */
export function salesforceFields(traits: JsonObject, config: SalesforceConfig): Record<string, FieldValue> {
  const map = { ...DEFAULT_FIELDS, ...config.fieldMap };
  const out: Record<string, FieldValue> = {};
  for (const [path, field] of Object.entries(map)) {
    const v: JsonValue | undefined = at(traits, path);
    if (v === undefined || isJsonObject(v) || Array.isArray(v)) continue;
    if (field === config.externalIdField) continue; // the upsert key goes in the URL, never the body
    out[field] = v;
  }
  if (out.LastName === undefined || out.LastName === '') {
    const name = str(traits.name);
    const last = name ? name.trim().split(/\s+/).pop() : undefined;
    const value = last ?? config.defaultLastName;
    if (value !== undefined) out.LastName = value;
  }
  if (
    config.object === 'Lead' &&
    (out.Company === undefined || out.Company === '') &&
    config.defaultCompany !== undefined
  ) {
    out.Company = config.defaultCompany;
  }
  return out;
}

export function toSalesforce(ev: SegmentEvent, config: SalesforceConfig): Mapped<HttpRequest> {
  if (ev.type !== 'identify') return { skip: `Salesforce upserts ${config.object} records from identify calls only` };
  const traits = ev.traits ?? {};
  const key = str(at(traits, config.externalIdTrait));
  if (!key) return { skip: `identify has no traits.${config.externalIdTrait} to upsert ${config.object} by` };
  const path = `/services/data/${config.apiVersion}/sobjects/${encodeURIComponent(config.object)}/${encodeURIComponent(config.externalIdField)}/${encodeURIComponent(key)}`;
  return {
    ok: {
      method: 'PATCH',
      url: path,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(salesforceFields(traits, config)),
    },
  };
}

function sfErrors(body: string): { errorCode: string; message: string }[] {
  const parsed = parseJson(body);
  const list = Array.isArray(parsed) ? parsed : isRecord(parsed) ? [parsed] : [];
  return list.filter(isRecord).map((e) => ({
    errorCode: typeof e.errorCode === 'string' ? e.errorCode : typeof e.error === 'string' ? e.error : 'UNKNOWN',
    message:
      typeof e.message === 'string' ? e.message : typeof e.error_description === 'string' ? e.error_description : '',
  }));
}

export const salesforceAuth: AuthStep<SalesforceConfig> = {
  async fetchToken(config, http) {
    const form = new URLSearchParams({ client_id: config.auth.clientId, client_secret: config.auth.clientSecret });
    if (config.auth.flow === 'password') {
      form.set('grant_type', 'password');
      form.set('username', config.auth.username);
      form.set('password', config.auth.password + config.auth.securityToken);
    } else {
      form.set('grant_type', 'client_credentials');
    }
    const outcome = await http({
      method: 'POST',
      url: joinUrl(config.loginUrl, '/services/oauth2/token'),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: form.toString(),
    });
    if (outcome.kind === 'response' && outcome.response.status === 200) {
      const parsed = parseJson(outcome.response.body);
      if (isRecord(parsed) && typeof parsed.access_token === 'string' && typeof parsed.instance_url === 'string') {
        return { ok: true, token: { accessToken: parsed.access_token, baseUrl: parsed.instance_url } };
      }
      return {
        ok: false,
        verdict: { kind: 'retry', reason: 'Salesforce token response without access_token/instance_url' },
      };
    }
    const verdict = defaultClassify(outcome);
    if (verdict.kind === 'ok') return { ok: false, verdict: { kind: 'retry', reason: 'unexpected token response' } };
    const err = outcome.kind === 'response' ? sfErrors(outcome.response.body)[0] : undefined;
    const reason = `Salesforce token request failed: ${err ? `${err.errorCode} ${err.message}` : verdict.reason}`;
    return { ok: false, verdict: { ...verdict, reason } };
  },
  apply(request, token) {
    const url = /^https?:\/\//.test(request.url) ? request.url : joinUrl(token.baseUrl ?? '', request.url);
    return { ...request, url, headers: { ...request.headers, authorization: `Bearer ${token.accessToken}` } };
  },
  isExpired(outcome: HttpOutcome) {
    return outcome.kind === 'response' && outcome.response.status === 401;
  },
};

const API_LIMIT_BACKOFF_MS = 15 * 60_000;

export const salesforce: HttpDestinationDefinition<SalesforceConfig> = {
  transport: 'http',
  type: 'salesforce',
  displayName: 'Salesforce',
  configSchema: salesforceConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  auth: salesforceAuth,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, (ev) => toSalesforce(ev, config));
    return { deliveries: items.map((i) => ({ messageIds: [i.messageId], payload: i.item })), skipped, rejected };
  },
  classify(outcome): DeliveryVerdict {
    if (outcome.kind !== 'response') return defaultClassify(outcome);
    const { status, body } = outcome.response;
    if (status >= 200 && status < 300) return { kind: 'ok' };
    const errors = sfErrors(body);
    const detail = errors.length > 0 ? errors.map((e) => `${e.errorCode}: ${e.message}`).join('; ') : excerpt(body);
    const reason = `Salesforce ${status}: ${detail}`;
    if (status === 300) return { kind: 'abort', reason: `${reason} (external id matches several records)` };
    // Still unauthorized after a fresh token: a session problem worth another try later.
    if (status === 401) return { kind: 'retry', reason };
    if (status === 403 && errors.some((e) => e.errorCode === 'REQUEST_LIMIT_EXCEEDED')) {
      return { kind: 'retry', reason, retryAfterMs: API_LIMIT_BACKOFF_MS };
    }
    if (errors.some((e) => e.errorCode === 'UNABLE_TO_LOCK_ROW' || e.errorCode === 'SERVER_UNAVAILABLE')) {
      return { kind: 'retry', reason };
    }
    const verdict = defaultClassify(outcome);
    return verdict.kind === 'ok' ? verdict : { ...verdict, reason };
  },
};
