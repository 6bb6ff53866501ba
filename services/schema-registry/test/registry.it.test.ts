import { randomUUID } from 'node:crypto';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { createKafka, TOPICS, topicName } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';
import { loadRegistryServiceConfig } from '../src/config';
import { startSchemaRegistry, type RunningRegistry } from '../src/registry';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
const log = createLogger('schema-registry-it', process.env.LOG_LEVEL ?? 'silent');

const pageV1 = {
  type: 'record',
  name: 'PageViewed',
  namespace: 'sluice.it',
  fields: [
    { name: 'url', type: 'string' },
    { name: 'ms', type: 'long' },
  ],
};
const pageV2 = { ...pageV1, fields: [...pageV1.fields, { name: 'referrer', type: ['null', 'string'], default: null }] };
const pageV3Incompatible = { ...pageV1, fields: [...pageV1.fields, { name: 'userId', type: 'string' }] };
const avro = (schema: object) => ({ type: SchemaType.AVRO, schema: JSON.stringify(schema) });

/** Every test run gets its own topic (prefix), so runs never see each other's schemas. */
function newPrefix(): string {
  return `it-registry-${randomUUID().slice(0, 8)}.`;
}

const started: RunningRegistry[] = [];
const prefixes = new Set<string>();

async function start(prefix: string): Promise<RunningRegistry> {
  prefixes.add(prefix);
  const config = loadRegistryServiceConfig({
    KAFKA_BROKERS: brokers,
    SLUICE_TOPIC_PREFIX: prefix,
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const registry = await startSchemaRegistry(config, log);
  started.push(registry);
  return registry;
}

async function stop(registry: RunningRegistry): Promise<void> {
  started.splice(started.indexOf(registry), 1);
  await registry.stop();
}

async function http(base: string, method: string, path: string, body?: string) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body,
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

afterAll(async () => {
  for (const registry of [...started]) await stop(registry);
  const kafka = createKafka({ brokers: [brokers], clientId: 'schema-registry-it', topicPrefix: '', ssl: false }, log);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...prefixes].map((p) => topicName(p, TOPICS.schemas.name)) });
  } finally {
    await admin.disconnect();
  }
});

describe('schema registry on Kafka with the Confluent client', () => {
  const prefix = newPrefix();
  const subject = 'sluice.it.page-value';
  let registry: RunningRegistry;
  let client: SchemaRegistry;
  let id1: number;
  let id2: number;

  beforeAll(async () => {
    registry = await start(prefix);
    client = new SchemaRegistry({ host: registry.url, retry: { retries: 0 } });
  });

  it('registers a schema, serves it by id and round-trips a record', async () => {
    ({ id: id1 } = await client.register(avro(pageV1), { subject }));
    expect(id1).toBeGreaterThan(0);
    // A fresh client has no cache: it must fetch the schema by id from the registry.
    const fresh = new SchemaRegistry({ host: registry.url });
    const encoded = await client.encode(id1, { url: '/pricing', ms: 1700000000000 });
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id1);
    expect(await fresh.decode(encoded)).toEqual({ url: '/pricing', ms: 1700000000000 });
    expect(await fresh.getSchema(id1)).toBeDefined();
  });

  it('registers a compatible v2 with a new id and the same id again when repeated', async () => {
    ({ id: id2 } = await client.register(avro(pageV2), { subject }));
    expect(id2).not.toBe(id1);
    expect((await client.register(avro(pageV2), { subject })).id).toBe(id2);
    const encoded = await client.encode(id2, { url: '/', ms: 1, referrer: 'https://example.com' });
    expect(await new SchemaRegistry({ host: registry.url }).decode(encoded)).toEqual({
      url: '/',
      ms: 1,
      referrer: 'https://example.com',
    });
  });

  it('rejects an incompatible v3 with 409 and a message naming the problem', async () => {
    const err = await client.register(avro(pageV3Incompatible), { subject }).then(
      () => undefined,
      (e: unknown) => e as Error & { status?: number },
    );
    expect(err).toBeDefined();
    expect(err?.status).toBe(409);
    expect(err?.message).toMatch(/incompatible/);
    expect(err?.message).toMatch(/userId/);
  });

  it('answers getLatestSchemaId and getRegistryIdBySchema', async () => {
    expect(await client.getLatestSchemaId(subject)).toBe(id2);
    expect(await client.getRegistryIdBySchema(subject, avro(pageV1))).toBe(id1);
    expect(await client.getRegistryId(subject, 1)).toBe(id1);
    await expect(client.getRegistryIdBySchema(subject, avro(pageV3Incompatible))).rejects.toThrow();
  });

  it('reuses the global id for the same schema under another subject', async () => {
    expect((await client.register(avro(pageV1), { subject: 'sluice.it.other-value' })).id).toBe(id1);
  });

  it('keeps every id after a restart on the same topic', async () => {
    const before = await http(registry.url, 'GET', `/schemas/ids/${id2}`);
    await stop(registry);
    registry = await start(prefix);
    const restarted = new SchemaRegistry({ host: registry.url });
    expect(await http(registry.url, 'GET', `/schemas/ids/${id2}`)).toEqual(before);
    expect(await restarted.getLatestSchemaId(subject)).toBe(id2);
    expect(await restarted.getRegistryIdBySchema(subject, avro(pageV1))).toBe(id1);
    expect((await restarted.register(avro(pageV2), { subject })).id).toBe(id2);
    // The subject-level config the client set on first use survived too.
    expect((await http(registry.url, 'GET', `/config/${encodeURIComponent(subject)}`)).json).toEqual({
      compatibilityLevel: 'BACKWARD',
    });
    // New schemas continue the sequence.
    const next = {
      type: 'record',
      name: 'Signup',
      namespace: 'sluice.it',
      fields: [{ name: 'email', type: 'string' }],
    };
    expect((await restarted.register(avro(next), { subject: 'sluice.it.signup-value' })).id).toBe(
      Math.max(id1, id2) + 1,
    );
  });

  it('answers HTTP errors with Confluent status and error codes', async () => {
    const base = registry.url;
    expect(await http(base, 'GET', '/subjects/unknown-subject/versions')).toMatchObject({
      status: 404,
      json: { error_code: 40401 },
    });
    expect(await http(base, 'GET', '/subjects/unknown-subject/versions/1')).toMatchObject({
      status: 404,
      json: { error_code: 40401 },
    });
    expect(await http(base, 'GET', `/subjects/${encodeURIComponent(subject)}/versions/99`)).toMatchObject({
      status: 404,
      json: { error_code: 40402 },
    });
    expect(await http(base, 'GET', '/schemas/ids/987654')).toMatchObject({ status: 404, json: { error_code: 40403 } });
    expect(await http(base, 'POST', '/subjects/x-value/versions', '{"schema": "')).toMatchObject({
      status: 400,
      json: { error_code: 400 },
    });
    expect(await http(base, 'POST', '/subjects/x-value/versions', '{"schemaa": "int"}')).toMatchObject({
      status: 422,
      json: { error_code: 42201 },
    });
    const invalid = await http(
      base,
      'POST',
      '/subjects/x-value/versions',
      JSON.stringify({
        schema: JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int', default: 'x' }] }),
      }),
    );
    expect(invalid).toMatchObject({ status: 422, json: { error_code: 42201 } });
    expect(await http(base, 'GET', '/config/x-value')).toMatchObject({ status: 404, json: { error_code: 40408 } });
  });
});

describe('several registry instances on one topic', () => {
  it('hand out distinct ids to different schemas registered concurrently, and all see all', async () => {
    const prefix = newPrefix();
    const [a, b] = await Promise.all([start(prefix), start(prefix)]);
    const ca = new SchemaRegistry({ host: a.url });
    const cb = new SchemaRegistry({ host: b.url });
    const schemaFor = (who: string, i: number) => ({
      type: 'record',
      name: `Event${who}${i}`,
      namespace: 'sluice.it.race',
      fields: [{ name: `f${i}`, type: 'string' }],
    });
    const n = 8;
    const jobs: Promise<{ key: string; id: number }>[] = [];
    for (let i = 0; i < n; i++) {
      // The same subject from both sides too: versions must not collide either.
      jobs.push(
        ca.register(avro(schemaFor('A', i)), { subject: `race-${i}` }).then(({ id }) => ({ key: `A${i}`, id })),
      );
      jobs.push(
        cb.register(avro(schemaFor('B', i)), { subject: `race-b-${i}` }).then(({ id }) => ({ key: `B${i}`, id })),
      );
    }
    const results = await Promise.all(jobs);
    const ids = results.map((r) => r.id);
    expect(new Set(ids).size).toBe(2 * n);

    // Both instances resolve every id to the schema that was registered with it.
    for (const { key, id } of results) {
      const expected = schemaFor(key[0], Number(key.slice(1)));
      for (const inst of [a, b]) {
        const got = await http(inst.url, 'GET', `/schemas/ids/${id}`);
        expect(JSON.parse(got.json.schema as string)).toEqual(expected);
      }
    }
    const subjectsA = (await http(a.url, 'GET', '/subjects')).json as unknown as string[];
    const subjectsB = (await http(b.url, 'GET', '/subjects')).json as unknown as string[];
    expect(subjectsA).toEqual(subjectsB);
    expect(subjectsA).toHaveLength(2 * n);
  });

  it('agree on versions when both write to the same subject at once', async () => {
    const prefix = newPrefix();
    const [a, b] = await Promise.all([start(prefix), start(prefix)]);
    const subject = 'shared-value';
    await http(a.url, 'PUT', `/config/${subject}`, JSON.stringify({ compatibility: 'NONE' }));
    const schemas = Array.from({ length: 6 }, (_, i) =>
      JSON.stringify({ type: 'record', name: `S${i}`, fields: [{ name: 'x', type: 'int' }] }),
    );
    const results = await Promise.all(
      schemas.map((schema, i) =>
        http(i % 2 === 0 ? a.url : b.url, 'POST', `/subjects/${subject}/versions`, JSON.stringify({ schema })),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(schemas.map(() => 200));
    expect(new Set(results.map((r) => r.json.id)).size).toBe(schemas.length);
    const versionsA = await http(a.url, 'GET', `/subjects/${subject}/versions`);
    const versionsB = await http(b.url, 'GET', `/subjects/${subject}/versions`);
    expect(versionsA.json).toEqual([1, 2, 3, 4, 5, 6]);
    expect(versionsB.json).toEqual(versionsA.json);
    for (let v = 1; v <= schemas.length; v++) {
      const fromA = await http(a.url, 'GET', `/subjects/${subject}/versions/${v}`);
      const fromB = await http(b.url, 'GET', `/subjects/${subject}/versions/${v}`);
      expect(fromB.json).toEqual(fromA.json);
    }
  });
});
