/**
 * Warehouse naming rules (RudderStack/Segment layout). See libs/lake/README.md.
 *
 * 1. camelCase and PascalCase boundaries become `_` ("productId" → "product_id").
 * 2. Lower case.
 * 3. Every run of characters outside [a-z0-9] becomes one `_`; leading and
 *    trailing `_` are trimmed (an all-symbol name becomes `_`).
 * 4. A leading digit gets a `_` prefix ("1st" → "_1st").
 * 5. A reserved SQL word gets a `_` prefix ("from" → "_from").
 * 6. At most 127 characters (configurable: 63 for Postgres).
 */

export const DEFAULT_MAX_NAME_LENGTH = 127;

/** Words that cannot be bare identifiers in the common warehouses (ANSI SQL plus Snowflake/Postgres/Spark). */
export const RESERVED_WORDS: ReadonlySet<string> = new Set([
  'all',
  'alter',
  'and',
  'any',
  'array',
  'as',
  'asc',
  'between',
  'both',
  'by',
  'case',
  'cast',
  'check',
  'collate',
  'column',
  'connect',
  'constraint',
  'create',
  'cross',
  'current',
  'current_date',
  'current_time',
  'current_timestamp',
  'current_user',
  'database',
  'default',
  'delete',
  'desc',
  'distinct',
  'drop',
  'else',
  'end',
  'except',
  'exists',
  'false',
  'fetch',
  'following',
  'for',
  'foreign',
  'from',
  'full',
  'grant',
  'group',
  'having',
  'ilike',
  'in',
  'increment',
  'inner',
  'insert',
  'intersect',
  'interval',
  'into',
  'is',
  'join',
  'lateral',
  'leading',
  'left',
  'like',
  'limit',
  'localtime',
  'localtimestamp',
  'minus',
  'natural',
  'not',
  'null',
  'of',
  'offset',
  'on',
  'only',
  'or',
  'order',
  'outer',
  'over',
  'partition',
  'primary',
  'qualify',
  'range',
  'references',
  'regexp',
  'revoke',
  'right',
  'rlike',
  'row',
  'rows',
  'sample',
  'schema',
  'select',
  'session_user',
  'set',
  'some',
  'start',
  'table',
  'tablesample',
  'then',
  'to',
  'trailing',
  'trigger',
  'true',
  'try_cast',
  'union',
  'unique',
  'update',
  'user',
  'using',
  'values',
  'view',
  'when',
  'whenever',
  'where',
  'window',
  'with',
]);

/** Table names Sluice itself uses; a track event with one of these names gets a `_` prefix. */
export const RESERVED_TABLE_NAMES: ReadonlySet<string> = new Set([
  'tracks',
  'identifies',
  'users',
  'pages',
  'screens',
  'groups',
  'aliases',
  'discards',
]);

export interface NamingOptions {
  maxLength?: number;
}

const nameCache = new Map<string, string>();
const CACHE_LIMIT = 50_000;

/** A raw key (property name, event name) → a safe snake_case identifier. */
export function toSafeName(raw: string, options: NamingOptions = {}): string {
  const maxLength = options.maxLength ?? DEFAULT_MAX_NAME_LENGTH;
  const cacheKey = maxLength === DEFAULT_MAX_NAME_LENGTH ? raw : `${maxLength}\u0000${raw}`;
  const cached = nameCache.get(cacheKey);
  if (cached !== undefined) return cached;
  let s = raw
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
  if (s === '') s = '_';
  if (/^[0-9]/.test(s)) s = `_${s}`;
  if (RESERVED_WORDS.has(s)) s = `_${s}`;
  if (s.length > maxLength) s = s.slice(0, maxLength);
  if (nameCache.size >= CACHE_LIMIT) nameCache.clear();
  nameCache.set(cacheKey, s);
  return s;
}

/** Joins already-safe name parts with `_` and caps the length. */
export function joinName(prefix: string, name: string, options: NamingOptions = {}): string {
  const maxLength = options.maxLength ?? DEFAULT_MAX_NAME_LENGTH;
  const joined = prefix === '' ? name : `${prefix}_${name}`;
  return joined.length > maxLength ? joined.slice(0, maxLength) : joined;
}

/**
 * The table a track event's own rows go to, or undefined when the event name is
 * empty (such events only land in `tracks`).
 */
export function eventTableName(event: string | undefined | null, options: NamingOptions = {}): string | undefined {
  if (typeof event !== 'string' || event.trim() === '') return undefined;
  let name = toSafeName(event, options);
  if (name === '_') return undefined;
  if (RESERVED_TABLE_NAMES.has(name)) name = `_${name}`;
  const maxLength = options.maxLength ?? DEFAULT_MAX_NAME_LENGTH;
  return name.length > maxLength ? name.slice(0, maxLength) : name;
}
