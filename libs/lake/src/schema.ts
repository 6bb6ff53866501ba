import { ColumnType, DiscardRow, Row, Scalar, TableSchema } from './types';

export const DEFAULT_MAX_COLUMNS = 200;

/** Columns whose type is fixed whatever their first value looks like. */
export const STANDARD_COLUMN_TYPES: Readonly<Record<string, ColumnType>> = {
  id: 'string',
  anonymous_id: 'string',
  user_id: 'string',
  event: 'string',
  event_text: 'string',
  received_at: 'timestamp',
  sent_at: 'timestamp',
  timestamp: 'timestamp',
  original_timestamp: 'timestamp',
  uuid_ts: 'timestamp',
};

const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/** The number written in `length` ASCII digits at `from`, or -1 when one is not a digit. */
function digitsAt(value: string, from: number, length: number): number {
  let n = 0;
  for (let i = from; i < from + length; i++) {
    const d = value.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days inverse, integer arithmetic). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Milliseconds of `YYYY-MM-DDTHH:MM:SS.sssZ` (the form `toISOString` writes and
 * nearly every SDK sends), or NaN for any other shape. Reads the digits itself:
 * every timestamp is checked when its column is evolved and converted when the
 * Parquet is written, and Date.parse cost about 3 times as much. A date out of
 * the usual ranges (Feb 30, hour 24) gets Date.parse's answer, so both agree.
 */
export function canonicalTimestampMillis(value: string): number {
  if (
    value.length !== 24 ||
    value.charCodeAt(23) !== 90 /* Z */ ||
    value.charCodeAt(10) !== 84 /* T */ ||
    value.charCodeAt(4) !== 45 ||
    value.charCodeAt(7) !== 45 ||
    value.charCodeAt(13) !== 58 ||
    value.charCodeAt(16) !== 58 ||
    value.charCodeAt(19) !== 46
  )
    return NaN;
  const year = digitsAt(value, 0, 4);
  const month = digitsAt(value, 5, 2);
  const day = digitsAt(value, 8, 2);
  const hour = digitsAt(value, 11, 2);
  const minute = digitsAt(value, 14, 2);
  const second = digitsAt(value, 17, 2);
  const milli = digitsAt(value, 20, 3);
  if (year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59)
    return Date.parse(value);
  if (second < 0 || second > 59 || milli < 0) return Date.parse(value);
  const leap = month === 2 && year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (leap ? 1 : 0)) return Date.parse(value);
  return ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + milli;
}

/** Milliseconds since the epoch of an ISO-8601 date-time (no zone = UTC), or undefined. */
export function parseTimestamp(value: string): number | undefined {
  const canonical = canonicalTimestampMillis(value);
  if (!Number.isNaN(canonical)) return canonical;
  if (value.length < 16 || value.length > 40 || !ISO_TIMESTAMP.test(value)) return undefined;
  let s = value.replace(' ', 'T');
  if (!/(?:Z|[+-]\d{2}(?::?\d{2})?)$/i.test(s)) s += 'Z';
  // Date.parse takes at most millisecond precision: cut longer fractions.
  s = s.replace(/(\.\d{3})\d+/, '$1');
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The type a single non-null value suggests. */
export function inferType(value: Exclude<Scalar, null>): ColumnType {
  switch (typeof value) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return Number.isSafeInteger(value) ? 'int' : 'float';
    default:
      return parseTimestamp(value) !== undefined ? 'timestamp' : 'string';
  }
}

export type Coerced = { ok: true; value: Scalar } | { ok: false };

/**
 * Coerces a value into a column of type `target`: same type as is; int into
 * float; anything into string (stringified); otherwise not coercible.
 * Timestamps are normalised to ISO-8601 UTC with milliseconds.
 */
export function coerce(value: Exclude<Scalar, null>, target: ColumnType): Coerced {
  switch (target) {
    case 'string':
      return { ok: true, value: typeof value === 'string' ? value : String(value) };
    case 'boolean':
      return typeof value === 'boolean' ? { ok: true, value } : { ok: false };
    case 'int':
      return typeof value === 'number' && Number.isSafeInteger(value) ? { ok: true, value } : { ok: false };
    case 'float':
      return typeof value === 'number' ? { ok: true, value } : { ok: false };
    case 'timestamp': {
      if (typeof value !== 'string') return { ok: false };
      if (!Number.isNaN(canonicalTimestampMillis(value))) return { ok: true, value };
      const ms = parseTimestamp(value);
      return ms === undefined ? { ok: false } : { ok: true, value: new Date(ms).toISOString() };
    }
  }
}

export type SchemaChange =
  | { kind: 'add'; column: string; type: ColumnType }
  | { kind: 'widen'; column: string; from: ColumnType; to: ColumnType };

export interface EvolveOptions {
  table: string;
  /** Load time (ISO-8601), written to `uuid_ts` of discard rows. */
  uuidTs: string;
  /** Most columns a table may have; fields past it are discarded with a reason. */
  maxColumns?: number;
  /** Types forced for known columns; defaults to STANDARD_COLUMN_TYPES. */
  fixedTypes?: Readonly<Record<string, ColumnType>>;
}

export interface EvolveResult {
  newSchema: TableSchema;
  /** Rows fitting the new schema; an uncoercible value is NULL. Rows needing no change are the input objects (never modified). */
  coercedRows: Row[];
  discards: DiscardRow[];
  schemaChanges: SchemaChange[];
}

function display(value: Exclude<Scalar, null>): string {
  return typeof value === 'string' ? value : String(value);
}

/**
 * Schema evolution (pure): `(currentSchema, rows) → {newSchema, coercedRows,
 * discards, schemaChanges}`. Rows are taken in order; a new field adds a column
 * typed by its first value (or its fixed type), an int column widens to float
 * when a non-integer number arrives, a string column takes anything
 * (stringified), and a value that cannot be coerced becomes NULL in its row
 * and a row in the discards. Nothing is lost and nothing fails.
 */
export function evolveSchema(current: TableSchema, rows: readonly Row[], options: EvolveOptions): EvolveResult {
  const maxColumns = options.maxColumns ?? DEFAULT_MAX_COLUMNS;
  const fixed = options.fixedTypes ?? STANDARD_COLUMN_TYPES;
  const schema: Record<string, ColumnType> = { ...current };
  let columnCount = Object.keys(schema).length;
  const changes: SchemaChange[] = [];
  const added = new Map<string, SchemaChange & { kind: 'add' }>();
  const discards: DiscardRow[] = [];
  const coercedRows: Row[] = new Array<Row>(rows.length);

  const discard = (row: Row, column: string, value: Exclude<Scalar, null>, reason: string): void => {
    const receivedAt = row.received_at;
    const receivedMs = typeof receivedAt === 'string' ? parseTimestamp(receivedAt) : undefined;
    discards.push({
      table_name: options.table,
      row_id: typeof row.id === 'string' ? row.id : row.id == null ? null : String(row.id),
      column_name: column,
      column_value: display(value),
      received_at: receivedMs === undefined ? null : new Date(receivedMs).toISOString(),
      uuid_ts: options.uuidTs,
      reason,
    });
  };

  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!;
    // Copy on write: a row whose values all fit is passed through as is.
    let out: Row | undefined;
    for (const column in row) {
      const value = row[column];
      if (value === null || value === undefined) continue;
      let type = schema[column];
      // Fast paths: the value already has the column's type.
      if (type === 'string') {
        if (typeof value !== 'string') (out ??= { ...row })[column] = String(value);
        continue;
      }
      if (
        (type === 'float' && typeof value === 'number') ||
        (type === 'boolean' && typeof value === 'boolean') ||
        (type === 'int' && typeof value === 'number' && Number.isSafeInteger(value)) ||
        (type === 'timestamp' && typeof value === 'string' && !Number.isNaN(canonicalTimestampMillis(value)))
      ) {
        continue;
      }
      if (type === undefined) {
        if (columnCount >= maxColumns) {
          discard(row, column, value, `column limit of ${maxColumns} reached for table ${options.table}`);
          delete (out ??= { ...row })[column];
          continue;
        }
        const fixedType = fixed[column];
        type = fixedType ?? inferType(value);
        schema[column] = type;
        columnCount++;
        const change = { kind: 'add' as const, column, type };
        added.set(column, change);
        changes.push(change);
      } else if (
        type === 'int' &&
        typeof value === 'number' &&
        !Number.isSafeInteger(value) &&
        fixed[column] === undefined
      ) {
        schema[column] = 'float';
        const pending = added.get(column);
        if (pending) pending.type = 'float';
        else changes.push({ kind: 'widen', column, from: 'int', to: 'float' });
        type = 'float';
      }
      const result = coerce(value, type);
      if (result.ok) {
        if (result.value !== value) (out ??= { ...row })[column] = result.value;
      } else {
        discard(row, column, value, `cannot coerce ${inferType(value)} to ${type}`);
        delete (out ??= { ...row })[column];
      }
    }
    coercedRows[r] = out ?? row;
  }
  return { newSchema: schema, coercedRows, discards, schemaChanges: changes };
}
