import { randomUUID } from 'node:crypto';
import { bearer, isRecord, startStandIn, type StandIn, type StandInOptions } from '../server';

export interface HubSpotStandInOptions extends StandInOptions {
  accessToken?: string;
}

export interface HubSpotStandIn extends StandIn {
  /** email → contact properties (merged across upserts). */
  contacts: Map<string, Record<string, unknown>>;
  /** Custom event occurrences in arrival order. */
  events: Record<string, unknown>[];
}

function hsError(status: number, category: string, message: string) {
  return { status, body: { status: 'error', message, correlationId: randomUUID(), category }, accepted: false };
}

/** HubSpot CRM v3 contacts batch upsert and custom event occurrences (/events/v3/send[/batch]). */
export async function startHubSpotStandIn(opts: HubSpotStandInOptions = {}): Promise<HubSpotStandIn> {
  const token = opts.accessToken ?? 'hubspot-test-token';
  const contacts = new Map<string, Record<string, unknown>>();
  const events: Record<string, unknown>[] = [];
  let nextId = 1000;
  const ids = new Map<string, string>();

  const eventError = (ev: unknown): string | undefined => {
    if (!isRecord(ev)) return 'input must be an object';
    if (typeof ev.eventName !== 'string' || ev.eventName === '') return 'eventName is required';
    if (!/^pe\d+_[a-z0-9_]+$/.test(ev.eventName)) return `Event ${ev.eventName} not found`;
    if (![ev.email, ev.objectId, ev.utk].some((v) => typeof v === 'string' && v !== ''))
      return 'one of email, objectId or utk is required';
    return undefined;
  };

  const standIn = await startStandIn(
    {
      name: 'hubspot',
      errorBody: (status) =>
        status === 429
          ? {
              status: 'error',
              message: 'You have reached your ten_secondly_rolling limit.',
              errorType: 'RATE_LIMIT',
              correlationId: randomUUID(),
              policyName: 'TEN_SECONDLY_ROLLING',
            }
          : { status: 'error', message: 'internal error', correlationId: randomUUID(), category: 'INTERNAL_ERROR' },
      rateLimitHeaders: () => ({
        'x-hubspot-ratelimit-max': '100',
        'x-hubspot-ratelimit-remaining': '0',
        'x-hubspot-ratelimit-interval-milliseconds': '10000',
      }),
      reset: () => {
        contacts.clear();
        events.length = 0;
      },
      handle(req) {
        if (bearer(req.headers.authorization) !== token) {
          return hsError(
            401,
            'INVALID_AUTHENTICATION',
            'Authentication credentials not found. This API supports OAuth 2.0 authentication.',
          );
        }
        if (req.method === 'POST' && req.path === '/crm/v3/objects/contacts/batch/upsert') {
          const inputs = isRecord(req.json) && Array.isArray(req.json.inputs) ? req.json.inputs : undefined;
          if (!inputs) return hsError(400, 'VALIDATION_ERROR', 'Invalid input JSON: inputs is required');
          if (inputs.length > 100)
            return hsError(400, 'VALIDATION_ERROR', 'The maximum number of inputs supported in a batch request is 100');
          const seen = new Set<string>();
          for (const input of inputs) {
            if (
              !isRecord(input) ||
              typeof input.id !== 'string' ||
              input.idProperty !== 'email' ||
              !isRecord(input.properties)
            ) {
              return hsError(400, 'VALIDATION_ERROR', 'each input needs id, idProperty "email" and properties');
            }
            const email = input.id.toLowerCase();
            if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email))
              return hsError(400, 'VALIDATION_ERROR', `Property values were not valid: email "${input.id}" is invalid`);
            if (seen.has(email))
              return hsError(400, 'VALIDATION_ERROR', `Duplicate IDs found in batch input: [${email}]`);
            seen.add(email);
          }
          const now = new Date().toISOString();
          const results = (inputs as Record<string, unknown>[]).map((input) => {
            const email = String(input.id).toLowerCase();
            const isNew = !contacts.has(email);
            if (isNew) ids.set(email, String(nextId++));
            const merged = { ...(contacts.get(email) ?? {}), ...(input.properties as Record<string, unknown>), email };
            contacts.set(email, merged);
            return {
              id: ids.get(email),
              properties: merged,
              createdAt: now,
              updatedAt: now,
              archived: false,
              new: isNew,
            };
          });
          return {
            status: 200,
            body: { status: 'COMPLETE', results, startedAt: now, completedAt: now },
            accepted: true,
          };
        }
        if (req.method === 'POST' && (req.path === '/events/v3/send' || req.path === '/events/v3/send/batch')) {
          const batch = req.path.endsWith('/batch');
          const inputs = batch
            ? isRecord(req.json) && Array.isArray(req.json.inputs)
              ? req.json.inputs
              : undefined
            : [req.json];
          if (!inputs) return hsError(400, 'VALIDATION_ERROR', 'Invalid input JSON: inputs is required');
          if (inputs.length > 500)
            return hsError(400, 'VALIDATION_ERROR', 'The maximum number of inputs supported in a batch request is 500');
          for (const ev of inputs) {
            const err = eventError(ev);
            if (err) return hsError(400, 'VALIDATION_ERROR', err);
          }
          events.push(...(inputs as Record<string, unknown>[]));
          return { status: 204, accepted: true };
        }
        return hsError(404, 'OBJECT_NOT_FOUND', `No route for ${req.method} ${req.path}`);
      },
    },
    opts,
  );
  return Object.assign(standIn, { contacts, events });
}
