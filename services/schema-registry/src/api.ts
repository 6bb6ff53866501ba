import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '@sluice/observability';
import { Counter, Histogram, type Registry } from 'prom-client';
import { parseCompatibilityLevel } from './compatibility';
import { errors, RegistryError } from './errors';
import type { SchemaInput, SchemaStore, SubjectVersion, VersionSelector } from './store';

/**
 * The Confluent Schema Registry REST API (the subset Sluice and the common
 * clients use) over `SchemaStore`, as a plain node:http request handler.
 */

export const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface ApiDeps {
  store: SchemaStore;
  log: Logger;
  metrics: Registry;
  ready: () => boolean;
}

interface Request {
  method: string;
  segments: string[];
  query: URLSearchParams;
  body: () => Promise<unknown>;
}

type Reply = { status: number; body: unknown; raw?: string; contentType?: string };
type Handler = (req: Request, params: string[]) => Promise<Reply>;

interface Route {
  /** Literal segments, or ':' for a parameter. */
  pattern: string[];
  name: string;
  methods: Partial<Record<string, Handler>>;
}

const ok = (body: unknown): Reply => ({ status: 200, body });

function flag(query: URLSearchParams, name: string): boolean {
  return (query.get(name) ?? '').toLowerCase() === 'true';
}

export function parseVersion(text: string): VersionSelector {
  if (text === 'latest' || text === '-1') return 'latest';
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 1 && n <= 2 ** 31 - 1) return n;
  }
  throw errors.invalidVersion(text);
}

function parseId(text: string): number {
  if (!/^\d+$/.test(text)) throw errors.schemaNotFound(`Schema ${text} not found`);
  return Number(text);
}

function schemaInput(body: unknown): SchemaInput {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new RegistryError(422, 422, 'Unprocessable entity: the body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  if (b.schema === undefined || b.schema === null) throw errors.invalidSchema('the "schema" field is required');
  if (typeof b.schema !== 'string') throw errors.invalidSchema('the "schema" field must be a string');
  if (b.schemaType !== undefined && b.schemaType !== null && typeof b.schemaType !== 'string') {
    throw errors.invalidSchema('"schemaType" must be a string');
  }
  if (b.references !== undefined && b.references !== null && !Array.isArray(b.references)) {
    throw errors.invalidSchema('"references" must be an array');
  }
  return {
    schema: b.schema,
    schemaType: typeof b.schemaType === 'string' ? b.schemaType : undefined,
    references: Array.isArray(b.references) ? (b.references as SchemaInput['references']) : undefined,
  };
}

function versionBody(v: SubjectVersion): Record<string, unknown> {
  const body: Record<string, unknown> = { subject: v.subject, version: v.version, id: v.id };
  if (v.schemaType !== 'AVRO') body.schemaType = v.schemaType;
  if (v.references.length > 0) body.references = v.references;
  body.schema = v.schema;
  return body;
}

function compatibilityLevelFrom(body: unknown) {
  const b = (body ?? {}) as Record<string, unknown>;
  const given = b.compatibility ?? b.compatibilityLevel;
  const level = parseCompatibilityLevel(given);
  if (!level) throw errors.invalidCompatibilityLevel(given);
  return level;
}

function routes(store: SchemaStore): Route[] {
  return [
    { pattern: [], name: '/', methods: { GET: async () => ok({}) } },
    { pattern: ['schemas', 'types'], name: '/schemas/types', methods: { GET: async () => ok(['AVRO']) } },
    {
      pattern: ['schemas', 'ids', ':'],
      name: '/schemas/ids/{id}',
      methods: {
        GET: async (_req, [id]) => {
          const entry = await store.schemaById(parseId(id));
          const body: Record<string, unknown> = {};
          if (entry.schemaType !== 'AVRO') body.schemaType = entry.schemaType;
          if (entry.references.length > 0) body.references = entry.references;
          body.schema = entry.schema;
          return ok(body);
        },
      },
    },
    {
      pattern: ['schemas', 'ids', ':', 'schema'],
      name: '/schemas/ids/{id}/schema',
      methods: {
        GET: async (_req, [id]) => {
          const entry = await store.schemaById(parseId(id));
          return { status: 200, body: undefined, raw: entry.schema };
        },
      },
    },
    {
      pattern: ['schemas', 'ids', ':', 'subjects'],
      name: '/schemas/ids/{id}/subjects',
      methods: {
        GET: async (req, [id]) => ok(await store.subjectsOfId(parseId(id), flag(req.query, 'deleted'))),
      },
    },
    {
      pattern: ['schemas', 'ids', ':', 'versions'],
      name: '/schemas/ids/{id}/versions',
      methods: {
        GET: async (req, [id]) => ok(await store.versionsOfId(parseId(id), flag(req.query, 'deleted'))),
      },
    },
    {
      pattern: ['subjects'],
      name: '/subjects',
      methods: { GET: async (req) => ok(await store.subjects(flag(req.query, 'deleted'))) },
    },
    {
      pattern: ['subjects', ':'],
      name: '/subjects/{subject}',
      methods: {
        POST: async (req, [subject]) => {
          const input = schemaInput(await req.body());
          return ok(versionBody(await store.lookup(subject, input, flag(req.query, 'deleted'))));
        },
        DELETE: async (req, [subject]) => ok(await store.deleteSubject(subject, flag(req.query, 'permanent'))),
      },
    },
    {
      pattern: ['subjects', ':', 'versions'],
      name: '/subjects/{subject}/versions',
      methods: {
        GET: async (req, [subject]) => ok(await store.versions(subject, flag(req.query, 'deleted'))),
        POST: async (req, [subject]) => {
          const input = schemaInput(await req.body());
          const { id } = await store.register(subject, input);
          return ok({ id });
        },
      },
    },
    {
      pattern: ['subjects', ':', 'versions', ':'],
      name: '/subjects/{subject}/versions/{version}',
      methods: {
        GET: async (req, [subject, version]) =>
          ok(versionBody(await store.getVersion(subject, parseVersion(version), flag(req.query, 'deleted')))),
        DELETE: async (req, [subject, version]) =>
          ok(await store.deleteVersion(subject, parseVersion(version), flag(req.query, 'permanent'))),
      },
    },
    {
      pattern: ['subjects', ':', 'versions', ':', 'schema'],
      name: '/subjects/{subject}/versions/{version}/schema',
      methods: {
        GET: async (req, [subject, version]) => {
          const v = await store.getVersion(subject, parseVersion(version), flag(req.query, 'deleted'));
          return { status: 200, body: undefined, raw: v.schema };
        },
      },
    },
    {
      pattern: ['subjects', ':', 'versions', ':', 'referencedby'],
      name: '/subjects/{subject}/versions/{version}/referencedby',
      methods: {
        GET: async (_req, [subject, version]) => ok(await store.referencedBy(subject, parseVersion(version))),
      },
    },
    {
      pattern: ['compatibility', 'subjects', ':', 'versions', ':'],
      name: '/compatibility/subjects/{subject}/versions/{version}',
      methods: {
        POST: async (req, [subject, version]) => {
          const selector = parseVersion(version);
          const input = schemaInput(await req.body());
          const result = await store.testCompatibility(subject, selector, input);
          return ok(compatibilityBody(result, flag(req.query, 'verbose')));
        },
      },
    },
    {
      pattern: ['compatibility', 'subjects', ':', 'versions'],
      name: '/compatibility/subjects/{subject}/versions',
      methods: {
        POST: async (req, [subject]) => {
          const input = schemaInput(await req.body());
          const result = await store.testCompatibility(subject, 'all', input);
          return ok(compatibilityBody(result, flag(req.query, 'verbose')));
        },
      },
    },
    {
      pattern: ['config'],
      name: '/config',
      methods: {
        GET: async () => ok({ compatibilityLevel: await store.globalLevel() }),
        PUT: async (req) => {
          const level = compatibilityLevelFrom(await req.body());
          await store.setLevel(null, level);
          return ok({ compatibility: level });
        },
        DELETE: async () => {
          const previous = await store.globalLevel();
          await store.setLevel(null, null);
          return ok({ compatibilityLevel: previous });
        },
      },
    },
    {
      pattern: ['config', ':'],
      name: '/config/{subject}',
      methods: {
        GET: async (req, [subject]) => {
          const level = await store.subjectLevel(subject);
          if (level) return ok({ compatibilityLevel: level });
          if (flag(req.query, 'defaultToGlobal')) return ok({ compatibilityLevel: await store.globalLevel() });
          throw errors.subjectLevelCompatibilityNotConfigured(subject);
        },
        PUT: async (req, [subject]) => {
          const level = compatibilityLevelFrom(await req.body());
          await store.setLevel(subject, level);
          return ok({ compatibility: level });
        },
        DELETE: async (_req, [subject]) => {
          const level = await store.subjectLevel(subject);
          if (!level) throw errors.subjectLevelCompatibilityNotConfigured(subject);
          await store.setLevel(subject, null);
          return ok({ compatibilityLevel: level });
        },
      },
    },
    // Read-only mode endpoints: this registry is always READWRITE.
    { pattern: ['mode'], name: '/mode', methods: { GET: async () => ok({ mode: 'READWRITE' }) } },
    { pattern: ['mode', ':'], name: '/mode/{subject}', methods: { GET: async () => ok({ mode: 'READWRITE' }) } },
  ];
}

function compatibilityBody(result: { compatible: boolean; messages: string[] }, verbose: boolean) {
  return verbose
    ? { is_compatible: result.compatible, messages: result.messages }
    : { is_compatible: result.compatible };
}

function match(all: Route[], segments: string[]): { route: Route; params: string[] } | undefined {
  for (const route of all) {
    if (route.pattern.length !== segments.length) continue;
    const params: string[] = [];
    let matched = true;
    for (let i = 0; i < segments.length; i++) {
      if (route.pattern[i] === ':') params.push(segments[i]);
      else if (route.pattern[i] !== segments[i]) {
        matched = false;
        break;
      }
    }
    if (matched) return { route, params };
  }
  return undefined;
}

function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is drained and dropped so the error can still be answered.
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('end', () => {
      if (size > MAX_BODY_BYTES) {
        return reject(new RegistryError(413, 413, `Request body larger than ${MAX_BODY_BYTES} bytes`));
      }
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch (err) {
        reject(new RegistryError(400, 400, `Malformed JSON in the request body: ${(err as Error).message}`));
      }
    });
  });
}

function responseType(req: IncomingMessage): string {
  const accept = req.headers.accept ?? '';
  if (accept.includes('vnd.schemaregistry') || accept === '' || accept.includes('*/*')) return CONTENT_TYPE;
  if (accept.includes('application/json')) return 'application/json';
  return CONTENT_TYPE;
}

export function createApiHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const table = routes(deps.store);
  const requests = new Counter({
    name: 'sluice_schema_registry_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [deps.metrics],
  });
  const duration = new Histogram({
    name: 'sluice_schema_registry_request_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [deps.metrics],
  });
  const send = (res: ServerResponse, status: number, contentType: string, text: string) => {
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://registry');
    const method = (req.method ?? 'GET').toUpperCase();
    if (url.pathname === '/metrics') {
      return send(res, 200, deps.metrics.contentType, await deps.metrics.metrics());
    }
    if (url.pathname === '/health' || url.pathname === '/health/ready' || url.pathname === '/health/live') {
      const up = url.pathname === '/health/live' || deps.ready();
      return send(res, up ? 200 : 503, 'application/json', JSON.stringify({ status: up ? 'ready' : 'not ready' }));
    }
    const type = responseType(req);
    let segments: string[];
    try {
      segments = url.pathname
        .split('/')
        .filter((s) => s.length > 0)
        .map((s) => decodeURIComponent(s));
    } catch {
      return send(res, 404, type, JSON.stringify({ error_code: 404, message: 'HTTP 404 Not Found' }));
    }
    const found = match(table, segments);
    const routeName = found?.route.name ?? 'unmatched';
    const endTimer = duration.startTimer({ method, route: routeName });
    let status = 500;
    try {
      if (!found) throw new RegistryError(404, 404, 'HTTP 404 Not Found');
      const handler = found.route.methods[method];
      if (!handler) throw new RegistryError(405, 405, 'HTTP 405 Method Not Allowed');
      const request: Request = { method, segments, query: url.searchParams, body: () => readBody(req) };
      const reply = await handler(request, found.params);
      status = reply.status;
      if (reply.raw !== undefined) send(res, status, type, reply.raw);
      else send(res, status, type, JSON.stringify(reply.body));
    } catch (err) {
      const e =
        err instanceof RegistryError
          ? err
          : new RegistryError(500, 50001, `Internal error: ${(err as Error)?.message ?? String(err)}`);
      status = e.status;
      if (status >= 500) deps.log.error({ err, method, route: routeName }, 'request failed');
      else deps.log.debug({ method, route: routeName, status, errorCode: e.errorCode }, e.message);
      if (!res.headersSent) send(res, status, type, JSON.stringify(e.toBody()));
    } finally {
      endTimer();
      requests.inc({ method, route: routeName, status: String(status) });
    }
  };

  return (req, res) => {
    handle(req, res).catch((err: unknown) => {
      deps.log.error({ err }, 'unhandled request error');
      if (!res.headersSent)
        send(res, 500, CONTENT_TYPE, JSON.stringify({ error_code: 50001, message: 'Internal error' }));
    });
  };
}
