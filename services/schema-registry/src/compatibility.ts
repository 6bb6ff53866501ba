import avro, { type Schema, type Type } from 'avsc';

/** Pure Avro logic: parse, normalise, check compatibility. No I/O. */

export const COMPATIBILITY_LEVELS = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;
export type CompatibilityLevel = (typeof COMPATIBILITY_LEVELS)[number];
export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';

export function isCompatibilityLevel(value: unknown): value is CompatibilityLevel {
  return typeof value === 'string' && (COMPATIBILITY_LEVELS as readonly string[]).includes(value);
}

/** Accepts the level in any letter case, as Confluent does. */
export function parseCompatibilityLevel(value: unknown): CompatibilityLevel | undefined {
  if (typeof value !== 'string') return undefined;
  const upper = value.trim().toUpperCase();
  return isCompatibilityLevel(upper) ? upper : undefined;
}

export function isTransitive(level: CompatibilityLevel): boolean {
  return level.endsWith('_TRANSITIVE');
}

export type ParsedAvro = { ok: true; type: Type } | { ok: false; error: string };

/**
 * Parses Avro schema text. `referenced` are the texts of the schemas this one
 * references (already in dependency order: a reference's own references come
 * before it); their named types become available to the schema by name.
 */
export function parseAvro(text: string, referenced: readonly string[] = []): ParsedAvro {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not valid JSON: ${(err as Error).message}` };
  }
  const registry: Record<string, Type> = {};
  try {
    for (const ref of referenced) {
      avro.Type.forSchema(JSON.parse(ref) as Schema, { registry, noAnonymousTypes: true });
    }
  } catch (err) {
    return { ok: false, error: `a referenced schema is invalid: ${(err as Error).message}` };
  }
  try {
    const type = avro.Type.forSchema(json as Schema, { registry, noAnonymousTypes: true });
    return { ok: true, type };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

const SCHEMA_KEY_ORDER = [
  'type',
  'name',
  'namespace',
  'doc',
  'aliases',
  'fields',
  'symbols',
  'items',
  'values',
  'size',
  'default',
  'order',
  'logicalType',
  'precision',
  'scale',
];
const FIELD_KEY_ORDER = ['name', 'type', 'doc', 'default', 'order', 'aliases'];

function orderedKeys(obj: Record<string, unknown>, preferred: readonly string[]): string[] {
  const keys = Object.keys(obj);
  const first = preferred.filter((k) => keys.includes(k));
  const rest = keys.filter((k) => !preferred.includes(k)).sort();
  return [...first, ...rest];
}

function normaliseField(field: unknown): unknown {
  if (field === null || typeof field !== 'object' || Array.isArray(field)) return field;
  const obj = field as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of orderedKeys(obj, FIELD_KEY_ORDER)) {
    out[key] = key === 'type' ? normaliseSchemaJson(obj[key]) : obj[key];
  }
  return out;
}

/**
 * A stable form of a schema's JSON: keys in a fixed order, `{"type": "x"}`
 * written as `"x"`; every attribute (doc, default, logicalType, custom ones)
 * kept, and default values left exactly as given. Two texts that differ only
 * in whitespace or key order normalise to the same string.
 */
export function normaliseSchemaJson(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(normaliseSchemaJson);
  if (schema === null || typeof schema !== 'object') return schema;
  const obj = schema as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && keys[0] === 'type' && typeof obj.type === 'string') return obj.type;
  const out: Record<string, unknown> = {};
  for (const key of orderedKeys(obj, SCHEMA_KEY_ORDER)) {
    const value = obj[key];
    if (key === 'type' || key === 'items' || key === 'values') out[key] = normaliseSchemaJson(value);
    else if (key === 'fields' && Array.isArray(value)) out[key] = value.map(normaliseField);
    else out[key] = value;
  }
  return out;
}

/** Normalised schema text; the input must be valid JSON. */
export function normaliseSchemaText(text: string): string {
  return JSON.stringify(normaliseSchemaJson(JSON.parse(text)));
}

export interface PreviousSchema {
  version: number;
  type: Type;
}

export interface CompatibilityResult {
  compatible: boolean;
  messages: string[];
}

function canRead(reader: Type, writer: Type): string | undefined {
  try {
    reader.createResolver(writer);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/**
 * Checks `candidate` against the earlier schemas of a subject (`previous`,
 * oldest first) under `level`:
 * - BACKWARD: the candidate can read data written with the previous schema;
 * - FORWARD: the previous schema can read data written with the candidate;
 * - FULL: both;
 * - the plain levels look at the latest previous schema only, *_TRANSITIVE at all of them.
 */
export function checkCompatibility(
  candidate: Type,
  previous: readonly PreviousSchema[],
  level: CompatibilityLevel,
): CompatibilityResult {
  if (level === 'NONE' || previous.length === 0) return { compatible: true, messages: [] };
  const against = isTransitive(level) ? previous : previous.slice(-1);
  const backward = level.startsWith('BACKWARD') || level.startsWith('FULL');
  const forward = level.startsWith('FORWARD') || level.startsWith('FULL');
  const messages: string[] = [];
  for (const prev of against) {
    if (backward) {
      const problem = canRead(candidate, prev.type);
      if (problem !== undefined) {
        messages.push(`${level}: the new schema cannot read data written with version ${prev.version}: ${problem}`);
      }
    }
    if (forward) {
      const problem = canRead(prev.type, candidate);
      if (problem !== undefined) {
        messages.push(`${level}: version ${prev.version} cannot read data written with the new schema: ${problem}`);
      }
    }
  }
  return { compatible: messages.length === 0, messages };
}
