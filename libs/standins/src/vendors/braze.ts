import { bearer, isRecord, startStandIn, type StandIn, type StandInOptions } from '../server';

export interface BrazeStandInOptions extends StandInOptions {
  apiKeys?: string[];
}

export interface BrazeStandIn extends StandIn {
  /** Applied objects per array, in arrival order. */
  attributes: Record<string, unknown>[];
  events: Record<string, unknown>[];
  purchases: Record<string, unknown>[];
}

const MAX_PER_ARRAY = 75;
type ArrayName = 'attributes' | 'events' | 'purchases';

function hasIdentifier(o: Record<string, unknown>): boolean {
  if (typeof o.external_id === 'string' && o.external_id !== '') return true;
  if (typeof o.braze_id === 'string' && o.braze_id !== '') return true;
  if (typeof o.email === 'string' && o.email !== '') return true;
  return (
    isRecord(o.user_alias) &&
    typeof o.user_alias.alias_name === 'string' &&
    typeof o.user_alias.alias_label === 'string'
  );
}

function objectError(array: ArrayName, o: unknown): string | undefined {
  if (!isRecord(o)) return 'Object must be a JSON object';
  if (!hasIdentifier(o)) return 'Missing an external_id, braze_id, user_alias, or email';
  if (array === 'events') {
    if (typeof o.name !== 'string' || o.name === '') return "'name' is required";
    if (typeof o.time !== 'string' || !Number.isFinite(Date.parse(o.time))) return "'time' must be an ISO-8601 string";
  }
  if (array === 'purchases') {
    if (typeof o.product_id !== 'string' || o.product_id === '') return "'product_id' is required";
    if (typeof o.currency !== 'string' || !/^[A-Z]{3}$/.test(o.currency))
      return "'currency' must be a three-letter ISO-4217 code";
    if (typeof o.price !== 'number') return "'price' must be a number";
    if (typeof o.time !== 'string' || !Number.isFinite(Date.parse(o.time))) return "'time' must be an ISO-8601 string";
  }
  return undefined;
}

/** Braze POST /users/track. */
export async function startBrazeStandIn(opts: BrazeStandInOptions = {}): Promise<BrazeStandIn> {
  const keys = new Set(opts.apiKeys ?? ['braze-test-key']);
  const store: Record<ArrayName, Record<string, unknown>[]> = { attributes: [], events: [], purchases: [] };
  const standIn = await startStandIn(
    {
      name: 'braze',
      errorBody: (status) => ({ message: status === 429 ? 'Rate limit exceeded' : 'Internal Server Error' }),
      rateLimitHeaders: (s) => ({
        'x-ratelimit-limit': '250000',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + s),
      }),
      reset: () => {
        store.attributes.length = 0;
        store.events.length = 0;
        store.purchases.length = 0;
      },
      handle(req) {
        if (req.method !== 'POST' || req.path !== '/users/track') {
          return { status: 404, body: { message: 'Not found' }, accepted: false };
        }
        const key = bearer(req.headers.authorization);
        if (!key) return { status: 401, body: { message: 'Invalid API key: missing' }, accepted: false };
        if (!keys.has(key)) return { status: 401, body: { message: `Invalid API key: ${key}` }, accepted: false };
        if (!isRecord(req.json)) return { status: 400, body: { message: 'Invalid JSON body' }, accepted: false };
        const body = req.json;
        const errors: { type: string; input_array: ArrayName; index: number }[] = [];
        const valid: Record<ArrayName, Record<string, unknown>[]> = { attributes: [], events: [], purchases: [] };
        for (const name of ['attributes', 'events', 'purchases'] as const) {
          const list = body[name];
          if (list === undefined) continue;
          if (!Array.isArray(list))
            return { status: 400, body: { message: `'${name}' must be an array` }, accepted: false };
          if (list.length > MAX_PER_ARRAY) {
            return {
              status: 400,
              body: { message: `Received too many ${name} objects: at most ${MAX_PER_ARRAY} per request` },
              accepted: false,
            };
          }
          list.forEach((o: unknown, index: number) => {
            const err = objectError(name, o);
            if (err) errors.push({ type: err, input_array: name, index });
            else valid[name].push(o as Record<string, unknown>);
          });
        }
        const count = valid.attributes.length + valid.events.length + valid.purchases.length;
        if (count === 0) {
          return {
            status: 400,
            body: {
              message: "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.",
              errors,
            },
            accepted: false,
          };
        }
        for (const name of ['attributes', 'events', 'purchases'] as const) store[name].push(...valid[name]);
        const out: Record<string, unknown> = { message: 'success' };
        if (valid.attributes.length) out.attributes_processed = valid.attributes.length;
        if (valid.events.length) out.events_processed = valid.events.length;
        if (valid.purchases.length) out.purchases_processed = valid.purchases.length;
        if (errors.length) out.errors = errors;
        return { status: 201, body: out, accepted: true };
      },
    },
    opts,
  );
  return Object.assign(standIn, store);
}
