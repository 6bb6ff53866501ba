import { isJsonContentType, isRecord, startStandIn, type StandIn, type StandInOptions } from '../server';

export interface AmplitudeStandInOptions extends StandInOptions {
  apiKeys?: string[];
}

export interface AmplitudeStandIn extends StandIn {
  /** Ingested events, deduplicated by insert_id like Amplitude does. */
  events: Record<string, unknown>[];
  /**
   * Treat these user_ids / device_ids as over the per-user limit: a request with
   * their events gets 429 naming them (throttled_users, throttled_devices,
   * throttled_events) and nothing of it is ingested. Empty list ends throttling.
   */
  throttle(ids: string[]): void;
}

const MAX_EVENTS = 2000;

function addIndex(map: Record<string, number[]>, field: string, i: number): void {
  (map[field] ??= []).push(i);
}

/** Amplitude HTTP V2 API (/2/httpapi) and Batch Event Upload API (/batch). */
export async function startAmplitudeStandIn(opts: AmplitudeStandInOptions = {}): Promise<AmplitudeStandIn> {
  const keys = new Set(opts.apiKeys ?? ['amplitude-test-key']);
  const events: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  let throttled = new Set<string>();
  const standIn = await startStandIn(
    {
      name: 'amplitude',
      errorBody: (status) =>
        status === 429
          ? { code: 429, error: 'Too many requests for some devices and users', eps_threshold: 30 }
          : { code: status, error: status >= 500 ? 'Internal server error' : 'Bad request' },
      reset: () => {
        events.length = 0;
        seen.clear();
        throttled = new Set();
      },
      handle(req) {
        if (req.method !== 'POST' || (req.path !== '/2/httpapi' && req.path !== '/batch')) {
          return { status: 404, body: { code: 404, error: 'Not found' }, accepted: false };
        }
        if (!isJsonContentType(req.headers)) {
          return {
            status: 400,
            body: { code: 400, error: 'Invalid Content-Type header: must be application/json' },
            accepted: false,
          };
        }
        const body = req.json;
        if (!isRecord(body))
          return { status: 400, body: { code: 400, error: 'Invalid JSON request body' }, accepted: false };
        if (typeof body.api_key !== 'string' || body.api_key === '') {
          return {
            status: 400,
            body: { code: 400, error: 'Request missing required field', missing_field: 'api_key' },
            accepted: false,
          };
        }
        if (!keys.has(body.api_key)) {
          return { status: 400, body: { code: 400, error: `Invalid API key: ${body.api_key}` }, accepted: false };
        }
        if (!Array.isArray(body.events)) {
          return {
            status: 400,
            body: { code: 400, error: 'Request missing required field', missing_field: 'events' },
            accepted: false,
          };
        }
        if (body.events.length > MAX_EVENTS) {
          return { status: 413, body: { code: 413, error: 'Payload too large' }, accepted: false };
        }
        const options = isRecord(body.options) ? body.options : {};
        const minLen = typeof options.min_id_length === 'number' ? options.min_id_length : 5;
        const missing: Record<string, number[]> = {};
        const invalid: Record<string, number[]> = {};
        body.events.forEach((ev: unknown, i: number) => {
          if (!isRecord(ev)) return addIndex(invalid, 'event', i);
          if (typeof ev.event_type !== 'string' || ev.event_type === '') addIndex(missing, 'event_type', i);
          const uid = ev.user_id;
          const did = ev.device_id;
          if ((typeof uid !== 'string' || uid === '') && (typeof did !== 'string' || did === ''))
            addIndex(missing, 'user_id', i);
          if (typeof uid === 'string' && uid !== '' && uid.length < minLen) addIndex(invalid, 'user_id', i);
          if (typeof did === 'string' && did !== '' && did.length < minLen) addIndex(invalid, 'device_id', i);
          if (ev.time !== undefined && !Number.isInteger(ev.time)) addIndex(invalid, 'time', i);
        });
        if (Object.keys(missing).length > 0 || Object.keys(invalid).length > 0) {
          const detail: Record<string, unknown> = { code: 400, error: 'Request missing required field' };
          if (Object.keys(missing).length > 0) detail.events_with_missing_fields = missing;
          if (Object.keys(invalid).length > 0) {
            detail.error = Object.keys(missing).length > 0 ? detail.error : 'Invalid field values on some events';
            detail.events_with_invalid_fields = invalid;
          }
          return { status: 400, body: detail, accepted: false };
        }
        if (throttled.size > 0) {
          const users: Record<string, number> = {};
          const devices: Record<string, number> = {};
          const indices: number[] = [];
          (body.events as Record<string, unknown>[]).forEach((ev, i) => {
            const u = typeof ev.user_id === 'string' && throttled.has(ev.user_id) ? ev.user_id : undefined;
            const d = typeof ev.device_id === 'string' && throttled.has(ev.device_id) ? ev.device_id : undefined;
            if (u) users[u] = (users[u] ?? 0) + 1;
            if (d) devices[d] = (devices[d] ?? 0) + 1;
            if (u || d) indices.push(i);
          });
          if (indices.length > 0) {
            return {
              status: 429,
              body: {
                code: 429,
                error: 'Too many requests for some devices and users',
                eps_threshold: 30,
                throttled_devices: devices,
                throttled_users: users,
                throttled_events: indices,
              },
              accepted: false,
            };
          }
        }
        for (const ev of body.events as Record<string, unknown>[]) {
          const id = typeof ev.insert_id === 'string' ? ev.insert_id : undefined;
          if (id !== undefined && seen.has(id)) continue;
          if (id !== undefined) seen.add(id);
          events.push(ev);
        }
        return {
          status: 200,
          body: {
            code: 200,
            events_ingested: body.events.length,
            payload_size_bytes: req.body.length,
            server_upload_time: Date.now(),
          },
          accepted: true,
        };
      },
    },
    opts,
  );
  return Object.assign(standIn, {
    events,
    throttle(ids: string[]) {
      throttled = new Set(ids);
    },
  });
}
