import { basicCredentials, isRecord, startStandIn, type StandIn, type StandInOptions } from '../server';

export interface MixpanelStandInOptions extends StandInOptions {
  projectToken?: string;
  projectId?: string;
  serviceAccount?: { username: string; secret: string };
}

export interface MixpanelStandIn extends StandIn {
  /** Imported events, deduplicated by $insert_id. */
  events: Record<string, unknown>[];
  /** distinct_id → merged $set properties. */
  profiles: Map<string, Record<string, unknown>>;
  /** `<group_key>/<group_id>` → merged $set properties. */
  groups: Map<string, Record<string, unknown>>;
}

const INSERT_ID = /^[A-Za-z0-9-]{1,36}$/;
const MAX_EVENTS = 2000;

/** Mixpanel /import (strict mode), /engage and /groups. */
export async function startMixpanelStandIn(opts: MixpanelStandInOptions = {}): Promise<MixpanelStandIn> {
  const token = opts.projectToken ?? 'mixpanel-test-token';
  const events: Record<string, unknown>[] = [];
  const seen = new Set<string>();
  const profiles = new Map<string, Record<string, unknown>>();
  const groups = new Map<string, Record<string, unknown>>();

  const authorized = (header: string | undefined, query: Record<string, string>): boolean => {
    const cred = basicCredentials(header);
    if (!cred) return false;
    if (opts.serviceAccount && cred.user === opts.serviceAccount.username) {
      return cred.password === opts.serviceAccount.secret && query.project_id === (opts.projectId ?? '');
    }
    return cred.user === token;
  };

  const standIn = await startStandIn(
    {
      name: 'mixpanel',
      errorBody: (status) => ({
        code: status,
        error: status === 429 ? 'rate limit exceeded' : 'server error',
        status: 'error',
      }),
      reset: () => {
        events.length = 0;
        seen.clear();
        profiles.clear();
        groups.clear();
      },
      handle(req) {
        if (req.method !== 'POST')
          return { status: 405, body: { error: 'method not allowed', status: 0 }, accepted: false };
        if (req.path === '/import') {
          if (!authorized(req.headers.authorization, req.query)) {
            return { status: 401, body: { code: 401, error: 'Invalid credentials', status: 'error' }, accepted: false };
          }
          if (!Array.isArray(req.json)) {
            return {
              status: 400,
              body: { code: 400, error: 'unable to parse request body as JSON array', status: 'Bad Request' },
              accepted: false,
            };
          }
          if (req.json.length > MAX_EVENTS) {
            return {
              status: 413,
              body: { code: 413, error: 'request exceeds 2000 events', status: 'error' },
              accepted: false,
            };
          }
          const failed: Record<string, unknown>[] = [];
          const good: Record<string, unknown>[] = [];
          req.json.forEach((ev: unknown, index: number) => {
            const props = isRecord(ev) && isRecord(ev.properties) ? ev.properties : undefined;
            const insertId = props && typeof props.$insert_id === 'string' ? props.$insert_id : '';
            const fail = (field: string, message: string) =>
              failed.push({ index, $insert_id: insertId, field, message });
            if (!isRecord(ev) || typeof ev.event !== 'string' || ev.event === '')
              return fail('event', "'event' must be a non-empty string");
            if (!props) return fail('properties', "'properties' must be an object");
            if (typeof props.time !== 'number' || props.time < 31_536_000)
              return fail('properties.time', "'properties.time' is invalid: must be specified as seconds since epoch");
            if (typeof props.distinct_id !== 'string')
              return fail('properties.distinct_id', "'properties.distinct_id' must be a string");
            if (!INSERT_ID.test(insertId))
              return fail(
                'properties.$insert_id',
                "'properties.$insert_id' must be at most 36 alphanumeric characters or dashes",
              );
            good.push(ev);
          });
          for (const ev of good) {
            const id = (ev.properties as Record<string, unknown>).$insert_id as string;
            if (!seen.has(id)) {
              seen.add(id);
              events.push(ev);
            }
          }
          if (failed.length > 0) {
            return {
              status: 400,
              body: {
                code: 400,
                error: 'some data points in the request failed validation',
                status: 'Bad Request',
                num_records_imported: good.length,
                failed_records: failed,
              },
              accepted: good.length > 0,
            };
          }
          return { status: 200, body: { code: 200, num_records_imported: good.length, status: 'OK' }, accepted: true };
        }
        if (req.path === '/engage' || req.path === '/groups') {
          const verbose = req.query.verbose === '1';
          const reject = (error: string) => ({
            status: 200,
            body: verbose ? { status: 0, error } : 0,
            accepted: false,
          });
          const list = Array.isArray(req.json) ? req.json : isRecord(req.json) ? [req.json] : undefined;
          if (!list) return reject('data, missing or empty');
          for (const u of list) {
            if (!isRecord(u) || u.$token !== token) return reject('$token, invalid or missing');
            if (req.path === '/engage' && (typeof u.$distinct_id !== 'string' || u.$distinct_id === ''))
              return reject('$distinct_id, missing or empty');
            if (req.path === '/groups' && (typeof u.$group_key !== 'string' || typeof u.$group_id !== 'string'))
              return reject('$group_key and $group_id are required');
            if (!isRecord(u.$set)) return reject('only $set updates are supported by this stand-in');
          }
          for (const u of list as Record<string, unknown>[]) {
            const key =
              req.path === '/engage' ? String(u.$distinct_id) : `${String(u.$group_key)}/${String(u.$group_id)}`;
            const target = req.path === '/engage' ? profiles : groups;
            target.set(key, { ...(target.get(key) ?? {}), ...(u.$set as Record<string, unknown>) });
          }
          return { status: 200, body: verbose ? { status: 1, error: null } : 1, accepted: true };
        }
        return { status: 404, body: { error: 'not found', status: 0 }, accepted: false };
      },
    },
    opts,
  );
  return Object.assign(standIn, { events, profiles, groups });
}
