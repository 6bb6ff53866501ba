import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, createMetricsRegistry } from '@sluice/observability';
import { createApiHandler, CONTENT_TYPE } from '../src/api';
import { MemoryLog, SchemaStore } from '../src/store';

const schema = JSON.stringify({
  type: 'record',
  name: 'Page',
  namespace: 'sluice.test',
  fields: [{ name: 'url', type: 'string' }],
});
const v2 = JSON.stringify({
  type: 'record',
  name: 'Page',
  namespace: 'sluice.test',
  fields: [
    { name: 'url', type: 'string' },
    { name: 'title', type: ['null', 'string'], default: null },
  ],
});

let server: http.Server;
let base: string;

beforeEach(async () => {
  const handler = createApiHandler({
    store: new SchemaStore(new MemoryLog()),
    log: createLogger('schema-registry-test', 'silent'),
    metrics: createMetricsRegistry('schema-registry-test'),
    ready: () => true,
  });
  server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function call(method: string, path: string, body?: unknown, raw?: string) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': CONTENT_TYPE, accept: CONTENT_TYPE },
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, type: res.headers.get('content-type') };
}

describe('registry HTTP API (in-memory log)', () => {
  it('registers, reads back by id, subject and version, with Confluent shapes', async () => {
    expect(await call('POST', '/subjects/page-value/versions', { schema })).toMatchObject({
      status: 200,
      json: { id: 1 },
    });
    const byId = await call('GET', '/schemas/ids/1');
    expect(byId.type).toBe(CONTENT_TYPE);
    expect(byId.json).toEqual({ schema });
    expect((await call('GET', '/subjects/page-value/versions/latest')).json).toEqual({
      subject: 'page-value',
      version: 1,
      id: 1,
      schema,
    });
    expect((await call('GET', '/subjects/page-value/versions/1/schema')).json).toEqual(JSON.parse(schema));
    expect((await call('GET', '/schemas/ids/1/schema')).json).toEqual(JSON.parse(schema));
    expect((await call('POST', '/subjects/page-value/versions', { schema: v2 })).json).toEqual({ id: 2 });
    expect((await call('GET', '/subjects')).json).toEqual(['page-value']);
    expect((await call('GET', '/subjects/page-value/versions')).json).toEqual([1, 2]);
    expect((await call('GET', '/schemas/ids/2/versions')).json).toEqual([{ subject: 'page-value', version: 2 }]);
    expect((await call('GET', '/schemas/ids/2/subjects')).json).toEqual(['page-value']);
    expect((await call('POST', '/subjects/page-value', { schema })).json).toEqual({
      subject: 'page-value',
      version: 1,
      id: 1,
      schema,
    });
    expect((await call('GET', '/schemas/types')).json).toEqual(['AVRO']);
  });

  it('encodes subject names with slashes and spaces', async () => {
    const subject = encodeURIComponent('team/a b-value');
    expect((await call('POST', `/subjects/${subject}/versions`, { schema })).json).toEqual({ id: 1 });
    expect((await call('GET', '/subjects')).json).toEqual(['team/a b-value']);
  });

  it('answers errors with status and error_code', async () => {
    expect(await call('GET', '/subjects/nope/versions')).toMatchObject({ status: 404, json: { error_code: 40401 } });
    expect(await call('GET', '/subjects/nope/versions/latest')).toMatchObject({
      status: 404,
      json: { error_code: 40401 },
    });
    expect(await call('GET', '/schemas/ids/42')).toMatchObject({ status: 404, json: { error_code: 40403 } });
    await call('POST', '/subjects/page-value/versions', { schema });
    expect(await call('GET', '/subjects/page-value/versions/3')).toMatchObject({
      status: 404,
      json: { error_code: 40402 },
    });
    expect(await call('GET', '/subjects/page-value/versions/zero')).toMatchObject({
      status: 422,
      json: { error_code: 42202 },
    });
    expect(await call('GET', '/subjects/page-value/versions/0')).toMatchObject({
      status: 422,
      json: { error_code: 42202 },
    });
    expect(await call('POST', '/subjects/page-value', { schema: v2 })).toMatchObject({
      status: 404,
      json: { error_code: 40403 },
    });
    expect(await call('POST', '/subjects/other', { schema })).toMatchObject({
      status: 404,
      json: { error_code: 40401 },
    });
    const bad = await call('POST', '/subjects/page-value/versions', undefined, '{"schema": ');
    expect(bad).toMatchObject({ status: 400, json: { error_code: 400 } });
    expect(await call('POST', '/subjects/page-value/versions', ['x'])).toMatchObject({
      status: 422,
      json: { error_code: 422 },
    });
    expect(await call('POST', '/subjects/page-value/versions', {})).toMatchObject({
      status: 422,
      json: { error_code: 42201 },
    });
    const invalid = await call('POST', '/subjects/page-value/versions', {
      schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"intt"}]}',
    });
    expect(invalid).toMatchObject({ status: 422, json: { error_code: 42201 } });
    expect((invalid.json as { message: string }).message).toMatch(/intt/);
    const incompatible = await call('POST', '/subjects/page-value/versions', { schema: '"string"' });
    expect(incompatible).toMatchObject({ status: 409, json: { error_code: 409 } });
    expect(await call('GET', '/no/such/path')).toMatchObject({ status: 404, json: { error_code: 404 } });
    expect(await call('PATCH', '/subjects')).toMatchObject({ status: 405, json: { error_code: 405 } });
  });

  it('handles config as Confluent does', async () => {
    expect((await call('GET', '/config')).json).toEqual({ compatibilityLevel: 'BACKWARD' });
    expect(await call('GET', '/config/page-value')).toMatchObject({ status: 404, json: { error_code: 40408 } });
    expect((await call('GET', '/config/page-value?defaultToGlobal=true')).json).toEqual({
      compatibilityLevel: 'BACKWARD',
    });
    expect((await call('PUT', '/config/page-value', { compatibility: 'FULL' })).json).toEqual({
      compatibility: 'FULL',
    });
    expect((await call('GET', '/config/page-value')).json).toEqual({ compatibilityLevel: 'FULL' });
    expect((await call('PUT', '/config', { compatibility: 'none' })).json).toEqual({ compatibility: 'NONE' });
    expect((await call('GET', '/config')).json).toEqual({ compatibilityLevel: 'NONE' });
    expect(await call('PUT', '/config', { compatibility: 'SIDEWAYS' })).toMatchObject({
      status: 422,
      json: { error_code: 42203 },
    });
    expect((await call('DELETE', '/config/page-value')).json).toEqual({ compatibilityLevel: 'FULL' });
    expect(await call('GET', '/config/page-value')).toMatchObject({ status: 404 });
  });

  it('checks compatibility and deletes subjects', async () => {
    await call('POST', '/subjects/page-value/versions', { schema });
    expect((await call('POST', '/compatibility/subjects/page-value/versions/latest', { schema: v2 })).json).toEqual({
      is_compatible: true,
    });
    const verbose = await call('POST', '/compatibility/subjects/page-value/versions/latest?verbose=true', {
      schema: '"string"',
    });
    expect(verbose.json).toMatchObject({ is_compatible: false, messages: [expect.stringMatching(/version 1/)] });
    expect((await call('POST', '/compatibility/subjects/page-value/versions', { schema: v2 })).json).toEqual({
      is_compatible: true,
    });
    expect((await call('POST', '/compatibility/subjects/new-value/versions/latest', { schema })).json).toEqual({
      is_compatible: true,
    });
    expect((await call('DELETE', '/subjects/page-value')).json).toEqual([1]);
    expect((await call('GET', '/subjects')).json).toEqual([]);
    expect((await call('GET', '/subjects?deleted=true')).json).toEqual(['page-value']);
    expect((await call('DELETE', '/subjects/page-value?permanent=true')).json).toEqual([1]);
    expect((await call('GET', '/subjects?deleted=true')).json).toEqual([]);
  });

  it('serves /metrics and /health on the API port', async () => {
    await call('GET', '/subjects');
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toMatch(/sluice_schema_registry_requests_total\{method="GET",route="\/subjects",status="200"/);
    expect((await call('GET', '/health')).status).toBe(200);
  });
});
