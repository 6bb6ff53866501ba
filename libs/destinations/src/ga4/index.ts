import { z } from 'zod';
import { collect, unsupported, type Mapped } from '../core/collect';
import {
  anonymousIdOf,
  at,
  eventTimeMs,
  isJsonObject,
  num,
  snakeCase,
  str,
  userIdOf,
  type JsonObject,
  type JsonValue,
  type SegmentEvent,
} from '../core/event';
import { chunk, defaultClassify, isRecord, joinUrl, jsonRequest, parseJson } from '../core/http';
import type { Delivery, HttpDestinationDefinition, HttpRequest } from '../core/types';

export const ga4ConfigSchema = z.object({
  measurementId: z.string().min(1),
  apiSecret: z.string().min(1),
  baseUrl: z.string().url().default('https://www.google-analytics.com'),
  /**
   * Send to /debug/mp/collect, which validates and records nothing. The real
   * endpoint answers 2xx even for payloads it drops, so use this while setting up.
   */
  validationMode: z.boolean().default(false),
  batchSize: z.number().int().min(1).max(500).default(100),
});
export type Ga4Config = z.infer<typeof ga4ConfigSchema>;

export const GA4_MAX_EVENTS_PER_REQUEST = 25;
export const GA4_MAX_PARAMS = 25;
const NAME_MAX = 40;
const VALUE_MAX = 100;

const RESERVED_EVENT_NAMES = new Set([
  'ad_activeview',
  'ad_click',
  'ad_exposure',
  'ad_query',
  'ad_reward',
  'adunit_exposure',
  'app_background',
  'app_clear_data',
  'app_exception',
  'app_remove',
  'app_store_refund',
  'app_store_subscription_cancel',
  'app_store_subscription_convert',
  'app_store_subscription_renew',
  'app_update',
  'app_upgrade',
  'dynamic_link_app_open',
  'dynamic_link_app_update',
  'dynamic_link_first_open',
  'error',
  'first_open',
  'first_visit',
  'in_app_purchase',
  'notification_dismiss',
  'notification_foreground',
  'notification_open',
  'notification_receive',
  'os_update',
  'session_start',
  'session_start_with_rollout',
  'user_engagement',
]);
const RESERVED_PREFIXES = ['_', 'firebase_', 'ga_', 'google_', 'gtag.'];

/** Segment e-commerce spec → GA4 recommended events. */
const ECOMMERCE: Record<string, string> = {
  'Products Searched': 'search',
  'Product List Viewed': 'view_item_list',
  'Product Clicked': 'select_item',
  'Product Viewed': 'view_item',
  'Product Added': 'add_to_cart',
  'Product Removed': 'remove_from_cart',
  'Cart Viewed': 'view_cart',
  'Checkout Started': 'begin_checkout',
  'Payment Info Entered': 'add_payment_info',
  'Order Completed': 'purchase',
  'Order Refunded': 'refund',
  'Promotion Viewed': 'view_promotion',
  'Promotion Clicked': 'select_promotion',
  'Product Added to Wishlist': 'add_to_wishlist',
  'Signed Up': 'sign_up',
  'Signed In': 'login',
};

/** A GA4 name: snake_case, starts with a letter, at most 40 characters. */
export function ga4Name(name: string): string {
  let n = snakeCase(name);
  if (!/^[a-z]/.test(n)) n = `e_${n}`;
  return n.slice(0, NAME_MAX).replace(/_+$/, '');
}

function isReserved(name: string): boolean {
  return RESERVED_EVENT_NAMES.has(name) || RESERVED_PREFIXES.some((p) => name.startsWith(p));
}

type ParamValue = string | number;
function paramValue(v: JsonValue): ParamValue | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return v.slice(0, VALUE_MAX);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}

const ITEM_FIELDS: Record<string, string> = {
  product_id: 'item_id',
  productId: 'item_id',
  sku: 'item_id',
  name: 'item_name',
  category: 'item_category',
  brand: 'item_brand',
  variant: 'item_variant',
  price: 'price',
  quantity: 'quantity',
  coupon: 'coupon',
  position: 'index',
};

function ga4Item(p: JsonObject): Record<string, ParamValue> {
  const item: Record<string, ParamValue> = {};
  for (const [k, v] of Object.entries(p)) {
    const target = ITEM_FIELDS[k];
    const value = paramValue(v);
    if (target && value !== undefined && item[target] === undefined) item[target] = value;
  }
  return item;
}

type Params = Record<string, ParamValue | Record<string, ParamValue>[]>;

/** Properties → params: e-commerce fields renamed, scalars kept (first 25), nested values left out. */
export function ga4Params(props: JsonObject): Params {
  const params: Params = {};
  const products = Array.isArray(props.products)
    ? props.products.filter(isJsonObject)
    : isJsonObject(props.product)
      ? [props.product]
      : [];
  if (products.length > 0) params.items = products.map(ga4Item);
  else if (str(props.product_id) ?? str(props.sku)) params.items = [ga4Item(props)];
  const renamed: Record<string, string> = {
    order_id: 'transaction_id',
    revenue: 'value',
    total: 'value',
    query: 'search_term',
  };
  const currency = str(props.currency);
  if (currency) params.currency = currency.toUpperCase();
  const value = num(props.value) ?? num(props.revenue) ?? num(props.total) ?? num(props.price);
  if (value !== undefined && (params.items || props.value !== undefined || props.revenue !== undefined))
    params.value = value;
  for (const [k, v] of Object.entries(props)) {
    if (Object.keys(params).length >= GA4_MAX_PARAMS) break;
    if (k === 'products' || k === 'product' || k === 'currency' || k === 'value' || k === 'revenue' || k === 'total')
      continue;
    const name = renamed[k] ?? ga4Name(k);
    const pv = paramValue(v);
    if (pv !== undefined && params[name] === undefined && name) params[name] = pv;
  }
  return params;
}

interface Ga4Item {
  clientId: string;
  userId?: string;
  event: { name: string; params: Params; timestamp_micros: number };
}

export function toGa4(ev: SegmentEvent): Mapped<Ga4Item> {
  const clientId = anonymousIdOf(ev) ?? str(at(ev.context, 'ga_client_id'));
  if (!clientId) return { reject: 'GA4 needs client_id: event has no anonymousId' };
  const userId = userIdOf(ev);
  const base = { clientId, ...(userId ? { userId } : {}) };
  const ts = eventTimeMs(ev) * 1000;
  switch (ev.type) {
    case 'track': {
      const name = ECOMMERCE[ev.event] ?? ga4Name(ev.event);
      if (!name) return { reject: `event name "${ev.event}" has no characters GA4 accepts` };
      if (isReserved(name)) return { skip: `"${name}" is a name GA4 reserves` };
      return { ok: { ...base, event: { name, params: ga4Params(ev.properties ?? {}), timestamp_micros: ts } } };
    }
    case 'page': {
      const props = ev.properties ?? {};
      const params: Params = {};
      const location = str(props.url) ?? str(at(ev.context, 'page.url'));
      const title = str(props.title) ?? str(at(ev.context, 'page.title')) ?? ev.name;
      const referrer = str(props.referrer) ?? str(at(ev.context, 'page.referrer'));
      if (location) params.page_location = location.slice(0, 1000);
      if (title) params.page_title = title.slice(0, 300);
      if (referrer) params.page_referrer = referrer.slice(0, 420);
      return { ok: { ...base, event: { name: 'page_view', params, timestamp_micros: ts } } };
    }
    case 'screen':
      return {
        ok: {
          ...base,
          event: {
            name: 'screen_view',
            params: { screen_name: (ev.name ?? '').slice(0, VALUE_MAX), ...ga4Params(ev.properties ?? {}) },
            timestamp_micros: ts,
          },
        },
      };
    case 'group':
      return {
        ok: {
          ...base,
          event: { name: 'join_group', params: { group_id: ev.groupId.slice(0, VALUE_MAX) }, timestamp_micros: ts },
        },
      };
    case 'identify':
      return { skip: 'GA4 Measurement Protocol has no identify call (user_id rides on events)' };
    case 'alias':
      return unsupported(ev, 'GA4');
  }
}

export const ga4: HttpDestinationDefinition<Ga4Config> = {
  transport: 'http',
  type: 'ga4',
  displayName: 'Google Analytics 4',
  configSchema: ga4ConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, toGa4);
    // One request carries one client (and user); a user's events keep their order.
    const byUser = new Map<string, typeof items>();
    for (const it of items) {
      const key = `${it.item.clientId}\u0000${it.item.userId ?? ''}`;
      const list = byUser.get(key) ?? [];
      list.push(it);
      byUser.set(key, list);
    }
    const path = config.validationMode ? '/debug/mp/collect' : '/mp/collect';
    const query = new URLSearchParams({ measurement_id: config.measurementId, api_secret: config.apiSecret });
    const url = `${joinUrl(config.baseUrl, path)}?${query}`;
    const deliveries: Delivery<HttpRequest>[] = [];
    for (const list of byUser.values()) {
      for (const group of chunk(list, GA4_MAX_EVENTS_PER_REQUEST)) {
        const first = group[0]!.item;
        deliveries.push({
          messageIds: group.map((g) => g.messageId),
          payload: jsonRequest('POST', url, {
            client_id: first.clientId,
            ...(first.userId ? { user_id: first.userId } : {}),
            events: group.map((g) => g.item.event),
          }),
        });
      }
    }
    return { deliveries, skipped, rejected };
  },
  classify(outcome) {
    if (outcome.kind === 'response' && outcome.response.status >= 200 && outcome.response.status < 300) {
      // Only the validation endpoint says what is wrong; the collection endpoint accepts everything.
      const parsed = parseJson(outcome.response.body);
      const messages = isRecord(parsed) && Array.isArray(parsed.validationMessages) ? parsed.validationMessages : [];
      if (messages.length > 0) {
        return { kind: 'abort', reason: `GA4 validation: ${JSON.stringify(messages).slice(0, 1000)}` };
      }
      return { kind: 'ok' };
    }
    return defaultClassify(outcome);
  },
};
