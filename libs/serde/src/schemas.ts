import fs from 'node:fs';
import path from 'node:path';
import avro from 'avsc';

/** The schemas of schemas/avro, by file name without extension. */
export const SCHEMA_NAMES = ['event-envelope', 'identity-edge', 'delivery-envelope', 'dead-letter'] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

export interface RawSchema {
  type: 'record';
  name: string;
  namespace?: string;
  doc?: string;
  fields: { name: string; type: unknown; default?: unknown; doc?: string }[];
}

/**
 * The repository's `schemas/avro`, found upwards from this module: from the sources it is three
 * levels up, from a service bundled into `dist/<service>/` two. Looked up once, on first use.
 */
function findSchemaDir(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'schemas', 'avro');
    if (fs.existsSync(path.join(candidate, 'event-envelope.avsc'))) return candidate;
    if (path.dirname(dir) === dir) {
      throw new Error(`schemas/avro not found in any folder above ${from}: Sluice's Avro schemas must ship with it`);
    }
  }
}

let schemaDir: string | undefined;

const cache = new Map<SchemaName, RawSchema>();

/** The schema file as JSON: the single source of truth for the wire format. */
export function loadSchema(name: SchemaName): RawSchema {
  let schema = cache.get(name);
  if (!schema) {
    schemaDir ??= findSchemaDir(__dirname);
    schema = JSON.parse(fs.readFileSync(path.join(schemaDir, `${name}.avsc`), 'utf8')) as RawSchema;
    cache.set(name, schema);
  }
  return schema;
}

/** An avsc type that keeps timestamp-millis fields as epoch-millisecond numbers. */
export function avroType(schema: RawSchema | avro.Schema): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema);
}
