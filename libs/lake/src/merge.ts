import { parseTimestamp } from './schema';
import { Row } from './types';

/** `base` with every non-null field of `over` written over it. */
export function overlay(base: Row, over: Row): Row {
  const out: Row = { ...base };
  for (const key in over) {
    const v = over[key];
    if (v !== null && v !== undefined) out[key] = v;
  }
  return out;
}

function order(row: Row, orderBy: string): number {
  const v = row[orderBy];
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return parseTimestamp(v) ?? Number.NEGATIVE_INFINITY;
  return Number.NEGATIVE_INFINITY;
}

/**
 * Latest-wins merge of rows by key (the `users` table): rows of one key are
 * taken in `orderBy` order (ties: input order) and each newer row's non-null
 * fields are written over the older ones. Rows without a key are dropped.
 */
export function collapseByKey(rows: readonly Row[], key: string, orderBy: string): Map<string, Row> {
  const indexed = rows
    .map((row, index) => ({ row, index, at: order(row, orderBy) }))
    .filter(({ row }) => row[key] !== null && row[key] !== undefined)
    .sort((a, b) => a.at - b.at || a.index - b.index);
  const out = new Map<string, Row>();
  for (const { row } of indexed) {
    const k = String(row[key]);
    const prev = out.get(k);
    out.set(k, prev ? overlay(prev, row) : { ...row });
  }
  return out;
}

/** Merges a stored row with an incoming one: the newer (by `orderBy`) wins field by field. */
export function mergeRow(existing: Row, incoming: Row, orderBy: string): Row {
  return order(existing, orderBy) > order(incoming, orderBy)
    ? overlay(incoming, existing)
    : overlay(existing, incoming);
}
