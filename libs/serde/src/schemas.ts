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

const SCHEMA_DIR = path.resolve(__dirname, '../../../schemas/avro');

const cache = new Map<SchemaName, RawSchema>();

/** The schema file as JSON: the single source of truth for the wire format. */
export function loadSchema(name: SchemaName): RawSchema {
  let schema = cache.get(name);
  if (!schema) {
    schema = JSON.parse(fs.readFileSync(path.join(SCHEMA_DIR, `${name}.avsc`), 'utf8')) as RawSchema;
    cache.set(name, schema);
  }
  return schema;
}

/** An avsc type that keeps timestamp-millis fields as epoch-millisecond numbers. */
export function avroType(schema: RawSchema | avro.Schema): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema);
}
