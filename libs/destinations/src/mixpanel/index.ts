import { createHash } from 'node:crypto';
import { z } from 'zod';
import { collect, runs, unsupported, type Mapped } from '../core/collect';
import { anonymousIdOf, at, eventTimeMs, str, userIdOf, type JsonObject, type SegmentEvent } from '../core/event';
import { basicAuth, defaultClassify, isRecord, joinUrl, jsonRequest, parseJson } from '../core/http';
import type { DeliveryVerdict, EventVerdict, HttpDestinationDefinition } from '../core/types';

export const mixpanelConfigSchema = z
  .object({
    projectToken: z.string().min(1),
    /** Service account auth for /import (recommended); without it the project token is the Basic user. */
    serviceAccount: z.object({ username: z.string().min(1), secret: z.string().min(1) }).optional(),
    /** Required with a service account. */
    projectId: z.string().min(1).optional(),
    /** https://api.mixpanel.com, https://api-eu.mixpanel.com (EU), or a stand-in. */
    baseUrl: z.string().url().default('https://api.mixpanel.com'),
    /** /import takes up to 2,000 events (10 MB) per request. */
    batchSize: z.number().int().min(1).max(2000).default(1000),
    /** Group key for group calls (/groups). */
    groupKey: z.string().min(1).default('company'),
  })
  .refine((c) => !c.serviceAccount || c.projectId, {
    message: 'projectId is required with a service account',
    path: ['projectId'],
  });
export type MixpanelConfig = z.infer<typeof mixpanelConfigSchema>;

type Endpoint = 'import' | 'engage' | 'groups';
interface MixpanelItem {
  endpoint: Endpoint;
  record: JsonObject;
}

const INSERT_ID = /^[A-Za-z0-9-]{1,36}$/;

/** Mixpanel's $insert_id allows 36 alphanumerics or dashes; longer messageIds are hashed deterministically. */
export function insertIdFor(messageId: string): string {
  return INSERT_ID.test(messageId) ? messageId : createHash('sha256').update(messageId).digest('hex').slice(0, 36);
}

/** Simplified ID Merge: userId when known, else `$device:<anonymousId>`. */
function distinctId(ev: SegmentEvent): string | undefined {
  const u = userIdOf(ev);
  if (u) return u;
  const a = anonymousIdOf(ev);
  return a ? `$device:${a}` : undefined;
}

const RESERVED_TRAITS: Record<string, string> = {
  email: '$email',
  firstName: '$first_name',
  lastName: '$last_name',
  name: '$name',
  phone: '$phone',
  avatar: '$avatar',
  createdAt: '$created',
  created_at: '$created',
};

function peopleProps(traits: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(traits)) out[RESERVED_TRAITS[k] ?? k] = v;
  return out;
}

function eventRecord(ev: SegmentEvent, name: string, props: JsonObject, distinct: string): JsonObject {
  const properties: JsonObject = {
    ...props,
    time: eventTimeMs(ev),
    distinct_id: distinct,
    $insert_id: insertIdFor(ev.messageId),
  };
  const anon = anonymousIdOf(ev);
  const user = userIdOf(ev);
  if (anon) properties.$device_id = anon;
  if (user) properties.$user_id = user;
  const ip = str(at(ev.context, 'ip'));
  if (ip) properties.ip = ip;
  const os = str(at(ev.context, 'os.name'));
  if (os) properties.$os = os;
  const url = str(at(ev.context, 'page.url'));
  if (url && properties.$current_url === undefined) properties.$current_url = url;
  return { event: name, properties };
}

export function toMixpanel(ev: SegmentEvent, config: MixpanelConfig): Mapped<MixpanelItem> {
  const distinct = distinctId(ev);
  if (!distinct) return { reject: 'Mixpanel needs a distinct_id: event has neither userId nor anonymousId' };
  switch (ev.type) {
    case 'track':
      return { ok: { endpoint: 'import', record: eventRecord(ev, ev.event, ev.properties ?? {}, distinct) } };
    case 'page':
    case 'screen': {
      const props: JsonObject = { ...(ev.properties ?? {}) };
      if (ev.name) props.name = ev.name;
      const name = ev.type === 'page' ? 'Loaded a Page' : 'Loaded a Screen';
      return { ok: { endpoint: 'import', record: eventRecord(ev, name, props, distinct) } };
    }
    case 'identify': {
      const traits = ev.traits ?? {};
      if (Object.keys(traits).length === 0) return { skip: 'identify without traits sets nothing in Mixpanel' };
      const record: JsonObject = { $token: config.projectToken, $distinct_id: distinct, $set: peopleProps(traits) };
      const ip = str(at(ev.context, 'ip'));
      // $ip "0" keeps Mixpanel from geolocating the server's address.
      record.$ip = ip ?? '0';
      return { ok: { endpoint: 'engage', record } };
    }
    case 'group':
      return {
        ok: {
          endpoint: 'groups',
          record: {
            $token: config.projectToken,
            $group_key: config.groupKey,
            $group_id: ev.groupId,
            $set: ev.traits ?? {},
          },
        },
      };
    case 'alias':
      return unsupported(ev, 'Mixpanel (Simplified ID Merge links ids through $device_id/$user_id)');
  }
}

export const mixpanel: HttpDestinationDefinition<MixpanelConfig> = {
  transport: 'http',
  type: 'mixpanel',
  displayName: 'Mixpanel',
  configSchema: mixpanelConfigSchema,
  maxBatchSize: (c) => c.batchSize,
  transform(events, config) {
    const { items, skipped, rejected } = collect(events, (ev) => toMixpanel(ev, config));
    const deliveries = runs(items, (i) => i.item.endpoint, config.batchSize).map((run) => {
      const records = run.items.map((i) => i.item.record);
      const messageIds = run.items.map((i) => i.messageId);
      if (run.key === 'import') {
        const params = new URLSearchParams({ strict: '1' });
        if (config.serviceAccount && config.projectId) params.set('project_id', config.projectId);
        const auth = config.serviceAccount
          ? basicAuth(config.serviceAccount.username, config.serviceAccount.secret)
          : basicAuth(config.projectToken, '');
        return {
          messageIds,
          payload: jsonRequest('POST', `${joinUrl(config.baseUrl, '/import')}?${params}`, records, {
            authorization: auth,
          }),
        };
      }
      return {
        messageIds,
        payload: jsonRequest('POST', `${joinUrl(config.baseUrl, `/${run.key}`)}?verbose=1`, records),
      };
    });
    return { deliveries, skipped, rejected };
  },
  classify(outcome, delivery): DeliveryVerdict {
    if (outcome.kind !== 'response') return defaultClassify(outcome);
    const { status, body } = outcome.response;
    const parsed = parseJson(body);
    const info = isRecord(parsed) ? parsed : {};
    const isImport = new URL(delivery.payload.url).pathname.endsWith('/import');
    if (status === 200 && !isImport) {
      // /engage and /groups with verbose=1 answer 200 {"status": 0, "error": "..."} on bad input.
      if (info.status === 0) return { kind: 'abort', reason: `Mixpanel: ${String(info.error ?? 'rejected')}` };
      return { kind: 'ok' };
    }
    if (status === 400 && isImport && Array.isArray(info.failed_records) && info.failed_records.length > 0) {
      // The valid events of the batch were imported; only the failed ones need attention.
      const events: Record<string, Exclude<EventVerdict, { kind: 'ok' }>> = {};
      for (const rec of info.failed_records) {
        if (!isRecord(rec) || typeof rec.index !== 'number') continue;
        const id = delivery.messageIds[rec.index];
        if (id)
          events[id] = {
            kind: 'abort',
            reason: `Mixpanel 400: ${String(rec.field ?? '')} ${String(rec.message ?? '')}`.trim(),
          };
      }
      if (Object.keys(events).length > 0) return { kind: 'partial', events };
    }
    const verdict = defaultClassify(outcome);
    if (verdict.kind === 'ok' || typeof info.error !== 'string') return verdict;
    return { ...verdict, reason: `Mixpanel ${status}: ${info.error}` };
  },
};
