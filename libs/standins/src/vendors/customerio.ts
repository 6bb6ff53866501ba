import { basicCredentials, isRecord, startStandIn, type StandIn, type StandInOptions } from '../server';

export interface CustomerioStandInOptions extends StandInOptions {
  siteId?: string;
  apiKey?: string;
}

export interface CustomerioStandIn extends StandIn {
  /** identifier → attributes (merged). */
  people: Map<string, Record<string, unknown>>;
  /** Activities in arrival order: customer id or anonymous_id, and the event. */
  activities: { customerId?: string; anonymousId?: string; event: Record<string, unknown> }[];
  merges: { primary: unknown; secondary: unknown }[];
}

const bad = (status: number, error: string) => ({ status, body: { meta: { error } }, accepted: false });

/** Customer.io Track API v1: customers, customer events, anonymous events, merge_customers. */
export async function startCustomerioStandIn(opts: CustomerioStandInOptions = {}): Promise<CustomerioStandIn> {
  const siteId = opts.siteId ?? 'cio-site';
  const apiKey = opts.apiKey ?? 'cio-test-key';
  const people = new Map<string, Record<string, unknown>>();
  const activities: CustomerioStandIn['activities'] = [];
  const merges: CustomerioStandIn['merges'] = [];

  const eventError = (body: unknown): string | undefined => {
    if (!isRecord(body)) return 'request body must be a JSON object';
    if (typeof body.name !== 'string' || body.name === '') return "missing required parameter 'name'";
    if (body.timestamp !== undefined && (typeof body.timestamp !== 'number' || body.timestamp > 1e11))
      return "'timestamp' must be a unix timestamp in seconds";
    if (body.id !== undefined && (typeof body.id !== 'string' || !/^[0-9A-HJKMNP-TV-Z]{26}$/i.test(body.id)))
      return "'id' must be a ULID";
    if (body.type !== undefined && !['event', 'page', 'screen'].includes(String(body.type)))
      return "'type' must be event, page or screen";
    return undefined;
  };

  const standIn = await startStandIn(
    {
      name: 'customerio',
      errorBody: (status) => ({ meta: { error: status === 429 ? 'Too many requests' : 'Internal server error' } }),
      reset: () => {
        people.clear();
        activities.length = 0;
        merges.length = 0;
      },
      handle(req) {
        const cred = basicCredentials(req.headers.authorization);
        if (!cred || cred.user !== siteId || cred.password !== apiKey) return bad(401, 'Unauthorized request');
        const customer = /^\/api\/v1\/customers\/([^/]+)(\/events)?$/.exec(req.path);
        if (customer) {
          const id = decodeURIComponent(customer[1]!);
          if (Buffer.byteLength(id) > 150) return bad(400, 'identifier is longer than 150 bytes');
          if (!customer[2] && req.method === 'PUT') {
            if (!isRecord(req.json)) return bad(400, 'request body must be a JSON object');
            people.set(id, { ...(people.get(id) ?? {}), ...req.json });
            return { status: 200, body: {}, accepted: true };
          }
          if (customer[2] && req.method === 'POST') {
            const err = eventError(req.json);
            if (err) return bad(400, err);
            activities.push({ customerId: id, event: req.json as Record<string, unknown> });
            return { status: 200, body: {}, accepted: true };
          }
          return bad(405, 'method not allowed');
        }
        if (req.path === '/api/v1/events' && req.method === 'POST') {
          const err = eventError(req.json);
          if (err) return bad(400, err);
          const body = req.json as Record<string, unknown>;
          activities.push({
            ...(typeof body.anonymous_id === 'string' ? { anonymousId: body.anonymous_id } : {}),
            event: body,
          });
          return { status: 200, body: {}, accepted: true };
        }
        if (req.path === '/api/v1/merge_customers' && req.method === 'POST') {
          const body = req.json;
          if (!isRecord(body) || !isRecord(body.primary) || !isRecord(body.secondary))
            return bad(400, "'primary' and 'secondary' are required");
          merges.push({ primary: body.primary, secondary: body.secondary });
          return { status: 200, body: {}, accepted: true };
        }
        return bad(404, 'not found');
      },
    },
    opts,
  );
  return Object.assign(standIn, { people, activities, merges });
}
