import { isRecord, startStandIn, type StandIn, type StandInOptions } from '../server';

export interface Ga4StandInOptions extends StandInOptions {
  measurementId?: string;
  apiSecret?: string;
}

export interface ValidationMessage {
  fieldPath: string;
  description: string;
  validationCode:
    | 'VALUE_INVALID'
    | 'VALUE_REQUIRED'
    | 'NAME_INVALID'
    | 'NAME_RESERVED'
    | 'VALUE_OUT_OF_BOUNDS'
    | 'EXCEEDED_MAX_ENTITIES';
}

export interface Ga4StandIn extends StandIn {
  /** Events GA4 would record (valid payloads with the right measurement_id and api_secret). */
  events: { client_id: string; user_id?: string; event: Record<string, unknown> }[];
  /** Requests /mp/collect answered 2xx but dropped (GA4 gives no error for these). */
  dropped: { reason: string; body: string }[];
}

const RESERVED = new Set([
  'ad_activeview',
  'ad_click',
  'ad_exposure',
  'ad_query',
  'ad_reward',
  'adunit_exposure',
  'app_clear_data',
  'app_exception',
  'app_install',
  'app_remove',
  'app_store_refund',
  'app_update',
  'app_upgrade',
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
  'user_engagement',
]);
const NAME = /^[A-Za-z][A-Za-z0-9_]{0,39}$/;

export function validateGa4(
  query: Record<string, string>,
  body: unknown,
  measurementId: string,
  apiSecret: string,
): ValidationMessage[] {
  const out: ValidationMessage[] = [];
  if (query.measurement_id !== measurementId)
    out.push({
      fieldPath: 'measurement_id',
      description: 'Unable to find a stream for measurement_id.',
      validationCode: 'VALUE_INVALID',
    });
  if (query.api_secret !== apiSecret)
    out.push({
      fieldPath: 'api_secret',
      description: 'api_secret is not valid for this stream.',
      validationCode: 'VALUE_INVALID',
    });
  if (!isRecord(body)) {
    out.push({
      fieldPath: '',
      description: 'Unable to parse Measurement Protocol JSON payload.',
      validationCode: 'VALUE_INVALID',
    });
    return out;
  }
  if (typeof body.client_id !== 'string' || body.client_id === '')
    out.push({
      fieldPath: 'client_id',
      description: 'Measurement requires a client_id.',
      validationCode: 'VALUE_REQUIRED',
    });
  const events = Array.isArray(body.events) ? body.events : undefined;
  if (!events || events.length === 0) {
    out.push({
      fieldPath: 'events',
      description: 'Measurement requires at least one event.',
      validationCode: 'VALUE_REQUIRED',
    });
    return out;
  }
  if (events.length > 25)
    out.push({
      fieldPath: 'events',
      description: 'A request can contain at most 25 events.',
      validationCode: 'EXCEEDED_MAX_ENTITIES',
    });
  events.forEach((ev: unknown, i: number) => {
    if (!isRecord(ev) || typeof ev.name !== 'string') {
      out.push({
        fieldPath: `events[${i}].name`,
        description: 'Event name is required.',
        validationCode: 'VALUE_REQUIRED',
      });
      return;
    }
    if (!NAME.test(ev.name))
      out.push({
        fieldPath: `events[${i}].name`,
        description: `Event name "${ev.name}" is invalid.`,
        validationCode: 'NAME_INVALID',
      });
    else if (RESERVED.has(ev.name) || /^(_|firebase_|ga_|google_)/.test(ev.name))
      out.push({
        fieldPath: `events[${i}].name`,
        description: `Event name "${ev.name}" is reserved.`,
        validationCode: 'NAME_RESERVED',
      });
    const params = isRecord(ev.params) ? ev.params : {};
    const names = Object.keys(params);
    if (names.length > 25)
      out.push({
        fieldPath: `events[${i}].params`,
        description: 'An event can have at most 25 parameters.',
        validationCode: 'EXCEEDED_MAX_ENTITIES',
      });
    for (const p of names) {
      if (p !== 'items' && !NAME.test(p))
        out.push({
          fieldPath: `events[${i}].params.${p}`,
          description: `Parameter name "${p}" is invalid.`,
          validationCode: 'NAME_INVALID',
        });
      const v = params[p];
      if (typeof v === 'string' && v.length > 100 && !['page_location', 'page_referrer', 'page_title'].includes(p)) {
        out.push({
          fieldPath: `events[${i}].params.${p}`,
          description: 'Parameter value is longer than 100 characters.',
          validationCode: 'VALUE_OUT_OF_BOUNDS',
        });
      }
    }
  });
  return out;
}

/**
 * GA4 Measurement Protocol: /mp/collect answers 204 to anything it received,
 * valid or not (invalid payloads are silently dropped); /debug/mp/collect
 * answers 200 with validationMessages and records nothing.
 */
export async function startGa4StandIn(opts: Ga4StandInOptions = {}): Promise<Ga4StandIn> {
  const measurementId = opts.measurementId ?? 'G-TEST123';
  const apiSecret = opts.apiSecret ?? 'ga4-test-secret';
  const events: Ga4StandIn['events'] = [];
  const dropped: Ga4StandIn['dropped'] = [];
  const standIn = await startStandIn(
    {
      name: 'ga4',
      errorBody: () => '',
      reset: () => {
        events.length = 0;
        dropped.length = 0;
      },
      handle(req) {
        if (req.method !== 'POST') return { status: 405, accepted: false };
        const messages = validateGa4(req.query, req.json, measurementId, apiSecret);
        if (req.path === '/debug/mp/collect')
          return { status: 200, body: { validationMessages: messages }, accepted: false };
        if (req.path !== '/mp/collect') return { status: 404, accepted: false };
        if (messages.length > 0) {
          dropped.push({ reason: messages.map((m) => `${m.fieldPath}: ${m.description}`).join('; '), body: req.body });
          return { status: 204, accepted: false };
        }
        const body = req.json as Record<string, unknown>;
        for (const ev of body.events as Record<string, unknown>[]) {
          events.push({
            client_id: String(body.client_id),
            ...(typeof body.user_id === 'string' ? { user_id: body.user_id } : {}),
            event: ev,
          });
        }
        return { status: 204, accepted: true };
      },
    },
    opts,
  );
  return Object.assign(standIn, { events, dropped });
}
