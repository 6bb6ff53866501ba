import { joinName, NamingOptions, toSafeName } from './naming';
import { Row, Scalar } from './types';

export interface FlattenOptions extends NamingOptions {
  /** Nesting deeper than this is kept as a JSON string in one column. */
  maxDepth?: number;
}

export const DEFAULT_MAX_DEPTH = 10;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Flattens a JSON object into `out`: nested objects become `parent_child`
 * columns, arrays become JSON strings, nulls and empty objects add nothing
 * (an absent column reads as NULL). Keys are made safe with `toSafeName`.
 * `onCollision` is called for a flattened name that is one of `protectedKeys`
 * (the standard columns: a set, or the own keys of a row), which keep their value.
 */
export function flattenInto(
  out: Row,
  value: Record<string, unknown>,
  prefix: string,
  options: FlattenOptions = {},
  protectedKeys?: ProtectedKeys,
  onCollision?: (column: string, value: Scalar) => void,
  depth = 0,
): void {
  const maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (v === null || v === undefined) continue;
    const name = joinName(prefix, toSafeName(key, options), options);
    if (isPlainObject(v)) {
      if (depth + 1 >= maxDepth) {
        set(out, name, JSON.stringify(v), protectedKeys, onCollision);
      } else {
        flattenInto(out, v, name, options, protectedKeys, onCollision, depth + 1);
      }
      continue;
    }
    let scalar: Scalar;
    if (Array.isArray(v)) scalar = JSON.stringify(v);
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) continue;
      scalar = v;
    } else if (typeof v === 'string' || typeof v === 'boolean') scalar = v;
    else if (typeof v === 'bigint') scalar = v.toString();
    else continue;
    set(out, name, scalar, protectedKeys, onCollision);
  }
}

/** Names that flattening must not write: a set of names, or the own keys of a row. */
export type ProtectedKeys = ReadonlySet<string> | Row;

const hasOwn = Object.prototype.hasOwnProperty;

function isProtected(keys: ProtectedKeys, name: string): boolean {
  return keys instanceof Set ? keys.has(name) : hasOwn.call(keys, name);
}

function set(
  out: Row,
  name: string,
  value: Scalar,
  protectedKeys: ProtectedKeys | undefined,
  onCollision: ((column: string, value: Scalar) => void) | undefined,
): void {
  if (protectedKeys !== undefined && isProtected(protectedKeys, name)) {
    onCollision?.(name, value);
    return;
  }
  out[name] = value;
}

/** Convenience: a new flattened object. */
export function flatten(value: Record<string, unknown>, prefix = '', options: FlattenOptions = {}): Row {
  const out: Row = {};
  flattenInto(out, value, prefix, options);
  return out;
}
