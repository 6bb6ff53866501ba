import { z } from 'zod';
import { collect, unsupported, type Mapped } from '../core/collect';
import {
  anonymousIdOf,
  at,
  eventTimeIso,
  isJsonObject,
  num,
  str,
  userIdOf,
  type JsonObject,
  type SegmentEvent,
} from '../core/event';
import { defaultClassify, isRecord, joinUrl, jsonRequest, parseJson, parseRetryAfter } from '../core/http';
import type { Delivery, DeliveryVerdict, EventVerdict, HttpDestinationDefinition, HttpRequest } from '../core/types';

export const brazeConfigSchema = z.object({
  /** REST API key with the users.track permission (Bearer). */
  apiKey: z.string().min(1),
  /** The instance's REST endpoint, e.g. https://rest.iad-01.braze.com (or a stand-in). */
  baseUrl: z.string().url(),
  appId: z.string().min(1).optional(),
  /** Users without a userId are tracked by alias {alias_name: anonymousId, alias_label}. */
  aliasLabel: z.string().min(1).default('anonymous_id'),
  /** Track event name that becomes purchases (one per product). */
  purchaseEvent: z.string().min(1).default('Order Completed'),
  defaultCurrency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .default('USD'),
  /** Events per transform call; a request holds at most 75 objects per array either way. */
  batchSize: z.number().int().min(1).max(75).default(75),
});
export type BrazeConfig = z.infer<typeof brazeConfigSchema>;

export const BRAZE_MAX_PER_ARRAY = 75;

type BrazeObject = JsonObject;
interface BrazeItem {
  attributes: BrazeObject[];
  events: BrazeObject[];
  purchases: BrazeObject[];
}

function identifier(ev: SegmentEvent, config: BrazeConfig): JsonObject | undefined {
  const u = userIdOf(ev);
  if (u) return { external_id: u };
  const a = anonymousIdOf(ev);
  if (a) return { user_alias: { alias_name: a, alias_label: config.aliasLabel }, _update_existing_only: false };
  return undefined;
}

const STANDARD_ATTRIBUTES: Record<string, string> = {
  email: 'email',
  firstName: 'first_name',
  first_name: 'first_name',
  lastName: 'last_name',
  last_name: 'last_name',
  phone: 'phone',
  gender: 'gender',
  country: 'country',
  language: 'language',
  avatar: 'image_url',
};

function genderCode(v: string): string {
  const g = v.trim().toLowerCase();
  if (['m', 'male', 'man'].includes(g)) return 'M';
  if (['f', 'female', 'woman'].includes(g)) return 'F';
  if (['o', 'other'].includes(g)) return 'O';
  if (['n', 'not applicable'].includes(g)) return 'N';
  if (['p', 'prefer not to say'].includes(g)) return 'P';
  return 'U';
}

export function brazeAttributes(traits: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(traits)) {
    const std = STANDARD_ATTRIBUTES[k];
    if (k === 'gender' && typeof v === 'string') out.gender = genderCode(v);
    else if ((k === 'birthday' || k === 'dob') && typeof v === 'string') out.dob = v.slice(0, 10);
    else if (k === 'address' && isJsonObject(v)) {
      const city = str(v.city);
      const country = str(v.country);
      if (city) out.home_city = city;
      if (country) out.country = country;
    } else out[std ?? k] = v;
  }
  return out;
}

export function toBraze(ev: SegmentEvent, config: BrazeConfig): Mapped<BrazeItem> {
  const id = identifier(ev, config);
  if (!id) return { reject: 'Braze needs external_id or a user alias: event has neither userId nor anonymousId' };
  const time = eventTimeIso(ev);
  const app: JsonObject = config.appId ? { app_id: config.appId } : {};
  const empty: BrazeItem = { attributes: [], events: [], purchases: [] };
  switch (ev.type) {
    case 'identify':
      return { ok: { ...empty, attributes: [{ ...id, ...brazeAttributes(ev.traits ?? {}) }] } };
    case 'track': {
      const props = ev.properties ?? {};
      const products = Array.isArray(props.products) ? props.products.filter(isJsonObject) : [];
      if (ev.event === config.purchaseEvent && products.length > 0) {
        const currency = (str(props.currency) ?? config.defaultCurrency).toUpperCase();
        const purchases: JsonObject[] = [];
        const orderId = str(props.order_id);
        for (const p of products) {
          const productId = str(p.product_id) ?? str(p.productId) ?? str(p.sku) ?? str(p.name);
          const price = num(p.price);
          if (!productId || price === undefined) {
            return { reject: 'Braze purchases need product_id (or sku/name) and price on every product' };
          }
          const { product_id: _a, productId: _b, price: _c, quantity: _d, ...rest } = p;
          purchases.push({
            ...id,
            ...app,
            product_id: productId,
            currency,
            price,
            quantity: Math.max(1, Math.trunc(num(p.quantity) ?? 1)),
            time,
            properties: orderId ? { ...rest, order_id: orderId } : rest,
          });
        }
        return { ok: { ...empty, purchases } };
      }
      return { ok: { ...empty, events: [{ ...id, ...app, name: ev.event, time, properties: props }] } };
    }
    default:
      return unsupported(ev, 'Braze');
  }
}

interface Pending {
  messageIds: string[];
  body: BrazeItem;
  itemIds: Record<keyof BrazeItem, string[]>;
}

function fits(p: Pending, item: BrazeItem): boolean {
  return (
    p.body.attributes.length + item.attributes.length <= BRAZE_MAX_PER_ARRAY &&
    p.body.events.length + item.events.length <= BRAZE_MAX_PER_ARRAY &&
    p.body.purchases.length + item.purchases.length <= BRAZE_MAX_PER_ARRAY
  );
}

export const braze: HttpDestinationDefinition<BrazeConfig> = {
  transport: 'http',
  type: 'braze',
  displayName: 'Braze',
  configSchema: brazeConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, (ev) => toBraze(ev, config));
    const pending: Pending[] = [];
    for (const it of items) {
      if (it.item.purchases.length > BRAZE_MAX_PER_ARRAY) {
        rejected.push({ messageId: it.messageId, reason: `order has more than ${BRAZE_MAX_PER_ARRAY} products` });
        continue;
      }
      let last = pending[pending.length - 1];
      if (!last || !fits(last, it.item)) {
        last = {
          messageIds: [],
          body: { attributes: [], events: [], purchases: [] },
          itemIds: { attributes: [], events: [], purchases: [] },
        };
        pending.push(last);
      }
      last.messageIds.push(it.messageId);
      for (const k of ['attributes', 'events', 'purchases'] as const) {
        for (let i = 0; i < it.item[k].length; i++) last.itemIds[k].push(it.messageId);
      }
      last.body.attributes.push(...it.item.attributes);
      last.body.events.push(...it.item.events);
      last.body.purchases.push(...it.item.purchases);
    }
    const deliveries: Delivery<HttpRequest>[] = pending.map((p) => {
      const body: JsonObject = {};
      if (p.body.attributes.length) body.attributes = p.body.attributes;
      if (p.body.events.length) body.events = p.body.events;
      if (p.body.purchases.length) body.purchases = p.body.purchases;
      return {
        messageIds: p.messageIds,
        payload: jsonRequest('POST', joinUrl(config.baseUrl, '/users/track'), body, {
          authorization: `Bearer ${config.apiKey}`,
        }),
        itemIds: p.itemIds,
      };
    });
    return { deliveries, skipped, rejected };
  },
  classify(outcome, delivery) {
    if (outcome.kind !== 'response') return defaultClassify(outcome);
    const { status, headers, body } = outcome.response;
    const parsed = parseJson(body);
    const message = isRecord(parsed) && typeof parsed.message === 'string' ? parsed.message : undefined;
    if (status >= 200 && status < 300) {
      // "success" with minor errors applied the other objects: the events behind the
      // objects named in `errors` abort, the rest are delivered.
      if (message !== undefined && message !== 'success' && message !== 'queued')
        return { kind: 'abort', reason: `Braze: ${message}` };
      return minorErrors(parsed, delivery);
    }
    if (status === 429) {
      const reset = Number(headers['x-ratelimit-reset']);
      const retryAfterMs =
        parseRetryAfter(headers['retry-after']) ??
        (Number.isFinite(reset) && reset > 0 ? Math.max(0, reset * 1000 - Date.now()) : undefined);
      const reason = `Braze 429: ${message ?? 'rate limited'}`;
      return retryAfterMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, retryAfterMs };
    }
    const verdict = defaultClassify(outcome);
    if (verdict.kind === 'ok' || !message) return verdict;
    const errors =
      isRecord(parsed) && Array.isArray(parsed.errors) ? ` ${JSON.stringify(parsed.errors).slice(0, 200)}` : '';
    return { ...verdict, reason: `Braze ${status}: ${message}${errors}` };
  },
};

function minorErrors(parsed: unknown, delivery: Delivery<HttpRequest>): DeliveryVerdict {
  const errors = isRecord(parsed) && Array.isArray(parsed.errors) ? parsed.errors : [];
  const events: Record<string, Exclude<EventVerdict, { kind: 'ok' }>> = {};
  for (const err of errors) {
    if (!isRecord(err) || typeof err.input_array !== 'string' || typeof err.index !== 'number') continue;
    const id = delivery.itemIds?.[err.input_array]?.[err.index];
    if (id)
      events[id] = {
        kind: 'abort',
        reason: `Braze: ${String(err.type ?? 'invalid object')} (${err.input_array}[${err.index}])`,
      };
  }
  return Object.keys(events).length > 0 ? { kind: 'partial', events } : { kind: 'ok' };
}

export function brazeUserOf(obj: JsonObject): string | undefined {
  return str(obj.external_id) ?? str(at(obj, 'user_alias.alias_name'));
}
