import { SchemaRegistry, SchemaType, COMPATIBILITY } from '@kafkajs/confluent-schema-registry';
import type { RegistryConfig } from '@sluice/config';
import avro from 'avsc';
import { avroType, loadSchema, SchemaName } from './schemas';

export class SerdeError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'SerdeError';
  }
}

export const MAGIC_BYTE = 0;

/** Reads the schema id from a Confluent wire-format record, or throws on foreign bytes. */
export function wireSchemaId(buffer: Buffer): number {
  if (buffer.length < 5 || buffer[0] !== MAGIC_BYTE) {
    throw new SerdeError('not a Confluent wire-format record (missing magic byte 0 and schema id)', false);
  }
  return buffer.readInt32BE(1);
}

export interface TopicBinding {
  topic: string;
  schemaId: number;
}

/** Bytes of one encoding slab (see AvroSerde.encode). */
const SLAB_BYTES = 64 * 1024;

/**
 * Avro in the Confluent wire format, bound to a Confluent-compatible registry.
 * Writers encode with the schema this build ships; readers decode with this
 * build's schema as the reader schema, so records written by a newer Sluice
 * (fields added with defaults) still read.
 */
export class AvroSerde {
  private readonly registry: SchemaRegistry;
  private readonly writerIds = new Map<string, number>();
  private readonly localTypes = new Map<SchemaName, avro.Type>();
  private readonly writerTypes = new Map<number, avro.Type>();
  private readonly resolvers = new Map<string, avro.Resolver | null>();
  // Records are encoded straight into a shared slab and handed out as views of it: no copy, and
  // one allocation per slab rather than per record. A record kept for long pins at most one slab.
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  private slabUsed = 0;

  constructor(config: RegistryConfig) {
    this.registry = new SchemaRegistry({
      host: config.url,
      auth: config.username ? { username: config.username, password: config.password ?? '' } : undefined,
      retry: { retries: 5 },
    });
  }

  get client(): SchemaRegistry {
    return this.registry;
  }

  /** Registers the shipped schema under `<topic>-value` (FULL_TRANSITIVE) and remembers its id. */
  async bindTopic(topic: string, name: SchemaName): Promise<TopicBinding> {
    const schema = loadSchema(name);
    try {
      const { id } = await this.registry.register(
        { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
        { subject: `${topic}-value`, compatibility: COMPATIBILITY.FULL_TRANSITIVE },
      );
      this.writerIds.set(topic, id);
      this.writerTypes.set(id, this.localType(name));
      return { topic, schemaId: id };
    } catch (err) {
      throw new SerdeError(
        `could not register schema ${name} for topic ${topic}: ${(err as Error).message}`,
        true,
        err,
      );
    }
  }

  private localType(name: SchemaName): avro.Type {
    let t = this.localTypes.get(name);
    if (!t) {
      t = avroType(loadSchema(name));
      this.localTypes.set(name, t);
    }
    return t;
  }

  /** Synchronous: the hot path of producers must not wait on the registry. */
  encode(topic: string, name: SchemaName, record: object): Buffer {
    const id = this.writerIds.get(topic);
    if (id === undefined) throw new SerdeError(`topic ${topic} is not bound to a schema; call bindTopic first`, false);
    const type = this.localType(name);
    let start = this.slabUsed;
    let end = type.encode(record, this.slab, start + 5);
    if (end < 0) {
      // avsc answers with minus the bytes that were missing: a new slab holds at least this record.
      const needed = this.slab.length - start - end;
      this.slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, needed));
      start = 0;
      end = type.encode(record, this.slab, 5);
      if (end < 0) throw new SerdeError(`record for ${topic} did not fit the ${needed} bytes measured for it`, false);
    }
    this.slab[start] = MAGIC_BYTE;
    this.slab.writeInt32BE(id, start + 1);
    this.slabUsed = end;
    return this.slab.subarray(start, end);
  }

  private async writerType(id: number): Promise<avro.Type> {
    let t = this.writerTypes.get(id);
    if (!t) {
      try {
        // The client hands back an avsc Type for Avro; rebuild it from its JSON so options match ours.
        const fetched = (await this.registry.getSchema(id)) as unknown as avro.Type;
        t = avroType(fetched.schema());
      } catch (err) {
        throw new SerdeError(`schema id ${id} not found in the registry: ${(err as Error).message}`, true, err);
      }
      this.writerTypes.set(id, t);
    }
    return t;
  }

  /** Decodes a record into the shape of this build's schema `name`. */
  async decode<T>(buffer: Buffer, name: SchemaName): Promise<T> {
    const id = wireSchemaId(buffer);
    if (!this.writerTypes.has(id)) await this.writerType(id);
    return this.decodeKnown<T>(buffer, name, id);
  }

  /**
   * `decode` without a promise when the record's writer schema is already known, else
   * undefined: a hot loop awaits only the first record of each schema.
   */
  decodeIfKnown<T>(buffer: Buffer, name: SchemaName): T | undefined {
    const id = wireSchemaId(buffer);
    return this.writerTypes.has(id) ? this.decodeKnown<T>(buffer, name, id) : undefined;
  }

  private decodeKnown<T>(buffer: Buffer, name: SchemaName, id: number): T {
    const reader = this.localType(name);
    const writer = this.writerTypes.get(id) as avro.Type;
    const key = `${id}:${name}`;
    let resolver = this.resolvers.get(key);
    if (resolver === undefined) {
      try {
        resolver = writer.equals(reader) ? null : reader.createResolver(writer);
      } catch (err) {
        throw new SerdeError(
          `records with schema id ${id} cannot be read as ${name}: ${(err as Error).message}`,
          false,
          err,
        );
      }
      this.resolvers.set(key, resolver);
    }
    const body = buffer.subarray(5);
    try {
      return (resolver ? reader.fromBuffer(body, resolver) : reader.fromBuffer(body)) as T;
    } catch (err) {
      throw new SerdeError(`corrupt Avro body for schema id ${id}: ${(err as Error).message}`, false, err);
    }
  }
}
