import { flattenInto, FlattenOptions } from './flatten';
import { eventTableName } from './naming';
import { DiscardRow, Row, Scalar } from './types';

/** A processed event as the warehouse loader receives it (Segment/RudderStack spec). */
export interface WarehouseEvent {
  type: string;
  messageId?: string | null;
  anonymousId?: string | null;
  userId?: string | number | null;
  event?: string | null;
  name?: string | null;
  category?: string | null;
  groupId?: string | number | null;
  previousId?: string | number | null;
  channel?: string | null;
  properties?: Record<string, unknown> | null;
  traits?: Record<string, unknown> | null;
  context?: Record<string, unknown> | null;
  timestamp?: string | null;
  originalTimestamp?: string | null;
  sentAt?: string | null;
  receivedAt?: string | null;
  [key: string]: unknown;
}

export interface MapOptions extends FlattenOptions {
  /** Load time, ISO-8601; becomes `uuid_ts` on every row. */
  uuidTs: string;
}

export interface MappedRow {
  table: string;
  row: Row;
}

export type MapOutcome = { ok: true; rows: MappedRow[]; discards: DiscardRow[] } | { ok: false; reason: string };

export const STANDARD_TABLES = {
  track: 'tracks',
  identify: 'identifies',
  page: 'pages',
  screen: 'screens',
  group: 'groups',
  alias: 'aliases',
} as const;

export const USERS_TABLE = 'users';

function str(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function put(row: Row, column: string, value: Scalar | undefined): void {
  if (value !== null && value !== undefined) row[column] = value;
}

/** Columns every table gets; they win over properties/traits of the same name. */
function baseRow(event: WarehouseEvent, uuidTs: string): Row {
  const row: Row = {};
  put(row, 'id', str(event.messageId));
  put(row, 'anonymous_id', str(event.anonymousId));
  put(row, 'user_id', str(event.userId));
  put(row, 'received_at', str(event.receivedAt));
  put(row, 'sent_at', str(event.sentAt));
  put(row, 'timestamp', str(event.timestamp));
  put(row, 'original_timestamp', str(event.originalTimestamp));
  row.uuid_ts = uuidTs;
  put(row, 'channel', str(event.channel));
  return row;
}

/** Traits of an identify/group: top-level `traits` over `context.traits` (SDKs use either). */
function traitsOf(event: WarehouseEvent): Record<string, unknown> {
  const contextTraits = isObject(event.context) && isObject(event.context.traits) ? event.context.traits : {};
  const traits = isObject(event.traits) ? event.traits : {};
  return { ...contextTraits, ...traits };
}

/**
 * Maps one event to its warehouse rows (pure). Every row carries the standard
 * columns and `context_*`; track events give a `tracks` row and, when the
 * event has a name, a row in the event's own table with the properties;
 * identify gives `identifies` and (with a user id) a `users` row.
 * Properties/traits whose flattened name collides with a standard column are
 * not written over it: they go to the discards with a reason.
 */
export function mapEvent(event: WarehouseEvent, options: MapOptions): MapOutcome {
  if (!isObject(event)) return { ok: false, reason: 'event is not an object' };
  const type = typeof event.type === 'string' ? event.type.toLowerCase() : '';
  if (!(type in STANDARD_TABLES)) return { ok: false, reason: `unsupported event type "${String(event.type)}"` };
  const { uuidTs } = options;
  const discards: DiscardRow[] = [];
  const rows: MappedRow[] = [];

  // Standard columns and the flattened context, built once per event.
  const common = baseRow(event, uuidTs);
  if (isObject(event.context)) flattenInto(common, event.context, 'context', options);

  /** Records a payload field that would overwrite a standard column of `row`. */
  const collision =
    (table: string, row: Row) =>
    (column: string, value: Scalar): void => {
      discards.push({
        table_name: table,
        row_id: typeof row.id === 'string' ? row.id : null,
        column_name: column,
        column_value: value === null ? null : String(value),
        received_at: typeof row.received_at === 'string' ? row.received_at : null,
        uuid_ts: uuidTs,
        reason: 'field collides with a standard column',
      });
    };

  /** A table's row: the common columns, the table's own columns, then the payload flattened. */
  const rowFor = (table: string, extra: Row | undefined, payload?: Record<string, unknown>): Row => {
    const head: Row = extra ? Object.assign({ ...common }, extra) : common;
    if (!payload) return head === common ? { ...common } : head;
    const row: Row = { ...head };
    // `head` is not written to below: its own keys are the protected names.
    flattenInto(row, payload, '', options, head, collision(table, row));
    return row;
  };

  switch (type) {
    case 'track': {
      const tableName = eventTableName(event.event, options);
      const extra: Row = {};
      put(extra, 'event', tableName ?? null);
      put(extra, 'event_text', str(event.event));
      const tracksRow = Object.assign({ ...common }, extra);
      rows.push({ table: 'tracks', row: tracksRow });
      if (tableName !== undefined) {
        const props = isObject(event.properties) ? event.properties : {};
        const row: Row = { ...tracksRow };
        flattenInto(row, props, '', options, tracksRow, collision(tableName, row));
        rows.push({ table: tableName, row });
      }
      break;
    }
    case 'identify': {
      const traits = traitsOf(event);
      rows.push({ table: 'identifies', row: rowFor('identifies', undefined, traits) });
      const userId = str(event.userId);
      if (userId !== null) {
        const user: Row = { id: userId };
        put(user, 'received_at', str(event.receivedAt));
        user.uuid_ts = uuidTs;
        const protectedKeys = { ...user };
        flattenInto(user, traits, '', options, protectedKeys);
        rows.push({ table: USERS_TABLE, row: user });
      }
      break;
    }
    case 'page':
    case 'screen': {
      const table = STANDARD_TABLES[type];
      const extra: Row = {};
      put(extra, 'name', str(event.name ?? (isObject(event.properties) ? event.properties.name : null)));
      put(extra, 'category', str(event.category ?? (isObject(event.properties) ? event.properties.category : null)));
      const props = isObject(event.properties) ? event.properties : {};
      rows.push({ table, row: rowFor(table, extra, props) });
      break;
    }
    case 'group': {
      const extra: Row = {};
      put(extra, 'group_id', str(event.groupId));
      rows.push({ table: 'groups', row: rowFor('groups', extra, traitsOf(event)) });
      break;
    }
    case 'alias': {
      const extra: Row = {};
      put(extra, 'previous_id', str(event.previousId));
      rows.push({ table: 'aliases', row: rowFor('aliases', extra) });
      break;
    }
  }
  return { ok: true, rows, discards };
}

export interface MappedBatch {
  /** Table → rows, in event order. */
  tables: Map<string, Row[]>;
  discards: DiscardRow[];
  rejected: { index: number; messageId: string | null; reason: string }[];
}

/** Maps a batch of events; rows grouped by table in event order. */
export function mapEvents(events: readonly WarehouseEvent[], options: MapOptions): MappedBatch {
  const tables = new Map<string, Row[]>();
  const discards: DiscardRow[] = [];
  const rejected: MappedBatch['rejected'] = [];
  events.forEach((event, index) => {
    const outcome = mapEvent(event, options);
    if (!outcome.ok) {
      rejected.push({ index, messageId: isObject(event) ? str(event.messageId) : null, reason: outcome.reason });
      return;
    }
    for (const { table, row } of outcome.rows) {
      let list = tables.get(table);
      if (!list) tables.set(table, (list = []));
      list.push(row);
    }
    discards.push(...outcome.discards);
  });
  return { tables, discards, rejected };
}
