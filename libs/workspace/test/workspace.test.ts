import { mkdtemp, rm, writeFile, rename } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildSnapshot,
  loadWorkspaceFile,
  parseWorkspace,
  WorkspaceConfigError,
  WorkspaceLogger,
  WorkspaceStore,
} from '../src';

function base(): Record<string, unknown> & {
  sources: Record<string, unknown>[];
  destinations: Record<string, unknown>[];
  connections: Record<string, unknown>[];
} {
  return {
    sources: [
      { id: 'web', name: 'Web', type: 'http', writeKey: 'write-key-web-1' },
      { id: 'orders', name: 'Orders topic', type: 'kafka', topics: ['shop.orders'], format: 'avro' },
    ],
    destinations: [
      { id: 'lake', name: 'Lake', type: 'delta', config: { location: '/tmp/lake' } },
      { id: 'hook', name: 'Hook', type: 'webhook', config: { url: 'http://127.0.0.1:9/x' } },
      { id: 'amp', name: 'Product analytics', type: 'amplitude', config: { apiKey: 'k' } },
    ],
    connections: [
      { sourceId: 'web', destinationId: 'lake' },
      { sourceId: 'web', destinationId: 'hook' },
      { sourceId: 'orders', destinationId: 'amp' },
    ],
  };
}

function problemsOf(raw: unknown): string[] {
  const res = parseWorkspace(raw);
  if (res.ok) throw new Error('expected the workspace to be invalid');
  return res.problems;
}

describe('parseWorkspace', () => {
  it('accepts a valid workspace and fills defaults', () => {
    const res = parseWorkspace(base());
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.config.sources[0].enabled).toBe(true);
    expect(res.config.destinations[1].config).toMatchObject({ method: 'POST', headers: {} });
    expect(res.config.suppressedUsers).toEqual({ userIds: [], anonymousIds: [] });
  });

  it('names the destination whose config lacks a required field', () => {
    const raw = base();
    raw.destinations[2] = { id: 'amp', name: 'Amp', type: 'amplitude', config: {} };
    expect(problemsOf(raw)).toContain('destinations[2].config.apiKey: required');
  });

  it('names a source without a write key and a bad source type', () => {
    const raw = base();
    raw.sources[0] = { id: 'web', name: 'Web', type: 'http' };
    expect(problemsOf(raw)).toContain('sources[0].writeKey: required');
    const raw2 = base();
    raw2.sources[1] = { id: 'x', name: 'X', type: 'ftp' };
    expect(problemsOf(raw2).join('\n')).toMatch(/^sources\[1\]\.type: /m);
  });

  it('rejects unknown keys (typos) and unknown destination types', () => {
    const raw = base();
    raw.sources[0] = { id: 'web', name: 'Web', type: 'http', writekey: 'abcdefghij', writeKey: 'abcdefghij' };
    expect(problemsOf(raw)).toContain('sources[0]: unknown key(s) "writekey"');
    const raw2 = base();
    raw2.destinations[1] = { id: 'hook', name: 'Hook', type: 'webhok', config: {} };
    expect(problemsOf(raw2)[0]).toMatch(
      /^destinations\[1\]\.type: unknown destination type "webhok" \(known: .*webhook/,
    );
  });

  it('checks cross references', () => {
    const raw = base();
    raw.connections.push({ sourceId: 'web', destinationId: 'nowhere' });
    raw.connections.push({ sourceId: 'ghost', destinationId: 'lake', transformationId: 't-missing' });
    const problems = problemsOf(raw);
    expect(problems).toContain('connections[3].destinationId: unknown destination "nowhere"');
    expect(problems).toContain('connections[4].sourceId: unknown source "ghost"');
    expect(problems).toContain('connections[4].transformationId: unknown transformation "t-missing"');
  });

  it('rejects duplicate write keys, ids and connections', () => {
    const raw = base();
    raw.sources.push({ id: 'app', name: 'App', type: 'http', writeKey: 'write-key-web-1' });
    raw.sources.push({ id: 'web', name: 'Web 2', type: 'http', writeKey: 'other-key-123' });
    raw.connections.push({ sourceId: 'web', destinationId: 'lake' });
    const problems = problemsOf(raw);
    expect(problems).toContain('sources[2].writeKey: duplicate write key (also used by sources[0] "web")');
    expect(problems).toContain('sources[3].id: duplicate id "web" (also sources[0])');
    expect(problems).toContain('connections[3]: duplicate connection web → lake (also connections[0])');
  });

  it('checks transformation libraries and tracking plans', () => {
    const raw = {
      ...base(),
      transformations: [
        { id: 't1', name: 'T', code: 'export function transformEvent(e) { return e }', libraries: ['nope'] },
      ],
      trackingPlans: [
        {
          id: 'tp',
          version: 1,
          sourceIds: ['web', 'missing'],
          rules: { events: { 'Order Completed': { properties: { type: 'object', required: 'oops' } } } },
        },
      ],
    };
    const problems = problemsOf(raw);
    expect(problems).toContain('transformations[0].libraries[0]: unknown transformation library "nope"');
    expect(problems).toContain('trackingPlans[0].sourceIds[1]: unknown source "missing"');
    expect(
      problems.some((p) =>
        p.startsWith('trackingPlans[0].rules.events["Order Completed"].properties: invalid JSON Schema'),
      ),
    ).toBe(true);
  });

  it('accepts the shipped example', () => {
    const text = readFileSync(path.join(__dirname, '..', 'examples', 'workspace.example.json'), 'utf8');
    const res = parseWorkspace(JSON.parse(text));
    expect(res.ok ? 'ok' : res.problems).toBe('ok');
  });
});

describe('buildSnapshot', () => {
  it('indexes sources by write key and destinations by source, frozen', () => {
    const res = parseWorkspace({ ...base(), suppressedUsers: { userIds: ['u1'] } });
    if (!res.ok) throw new Error(res.problems.join());
    const snap = buildSnapshot(res.config);
    expect(snap.sourceByWriteKey.get('write-key-web-1')?.id).toBe('web');
    expect(snap.connectionsBySource.get('web')?.map((c) => c.destination.destination.id)).toEqual(['lake', 'hook']);
    expect(snap.destinationById.get('lake')?.lake).toBe(true);
    expect(snap.destinationById.get('amp')?.integrationNames).toEqual(
      expect.arrayContaining(['productanalytics', 'amplitude', 'am']),
    );
    expect(snap.suppressedUserIds.has('u1')).toBe(true);
    expect(Object.isFrozen(snap.config.destinations[0].config)).toBe(true);
    expect(() => {
      (snap.config.sources as unknown as unknown[]).push({});
    }).toThrow();
  });
});

describe('loadWorkspaceFile and WorkspaceStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'sluice-ws-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  function recorder(): WorkspaceLogger & { errors: { obj: object; msg: string }[] } {
    const errors: { obj: object; msg: string }[] = [];
    return { errors, info: () => undefined, error: (obj, msg) => errors.push({ obj, msg }) };
  }

  it('loads YAML and inlines codeFile', async () => {
    await writeFile(path.join(dir, 't.js'), 'export function transformEvent(e) { return e }');
    const file = path.join(dir, 'ws.yaml');
    await writeFile(
      file,
      [
        'sources:',
        '  - {id: web, name: Web, type: http, writeKey: abcdefgh123}',
        'transformations:',
        '  - {id: t, name: T, codeFile: t.js}',
      ].join('\n'),
    );
    const res = await loadWorkspaceFile(file);
    expect(res.ok).toBe(true);
    if (res.ok) expect(res.snapshot.transformationById.get('t')?.code).toContain('transformEvent');
  });

  it('reports JSON syntax errors', async () => {
    const file = path.join(dir, 'ws.json');
    await writeFile(file, '{"sources": [');
    const res = await loadWorkspaceFile(file);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.problems[0]).toMatch(/^ws\.json is not valid JSON/);
  });

  it('fails fast on an invalid file at open', async () => {
    const file = path.join(dir, 'ws.json');
    const raw = base();
    raw.destinations[2] = { id: 'amp', name: 'Amp', type: 'amplitude', config: {} };
    await writeFile(file, JSON.stringify(raw));
    await expect(WorkspaceStore.open(file, { log: recorder(), watch: false, pollIntervalMs: 0 })).rejects.toThrow(
      WorkspaceConfigError,
    );
  });

  it('reloads on demand, keeps the last good snapshot when the new file is invalid', async () => {
    const file = path.join(dir, 'ws.json');
    await writeFile(file, JSON.stringify(base()));
    const log = recorder();
    const store = await WorkspaceStore.open(file, { log, watch: false, pollIntervalMs: 0 });
    try {
      const first = store.current();
      expect((await store.reload()).kind).toBe('unchanged');

      const broken = base();
      broken.connections.push({ sourceId: 'web', destinationId: 'nowhere' });
      await writeFile(file, JSON.stringify(broken));
      const bad = await store.reload();
      expect(bad.kind).toBe('invalid');
      if (bad.kind === 'invalid')
        expect(bad.problems).toContain('connections[3].destinationId: unknown destination "nowhere"');
      expect(store.current()).toBe(first);
      expect(log.errors).toHaveLength(1);
      expect(JSON.stringify(log.errors[0].obj)).toContain('nowhere');

      const changed = base();
      changed.sources.push({ id: 'app', name: 'App', type: 'http', writeKey: 'app-key-1234' });
      await writeFile(file, JSON.stringify(changed));
      const seen: string[] = [];
      store.onChange((snap, prev) => seen.push(`${prev.fingerprint}->${snap.fingerprint}`));
      const ok = await store.reload();
      expect(ok.kind).toBe('updated');
      expect(store.current().sourceByWriteKey.get('app-key-1234')?.id).toBe('app');
      expect(seen).toHaveLength(1);
    } finally {
      store.close();
    }
  });

  it('reloads by itself when the file is replaced (watch or poll)', async () => {
    const file = path.join(dir, 'ws.json');
    await writeFile(file, JSON.stringify(base()));
    const store = await WorkspaceStore.open(file, { log: recorder(), pollIntervalMs: 50, debounceMs: 20 });
    try {
      const updated = new Promise<string>((resolve) => store.onChange((s) => resolve(s.fingerprint)));
      const changed = base();
      changed.sources.push({ id: 'app', name: 'App', type: 'http', writeKey: 'app-key-1234' });
      // Replace atomically, the way editors and config-map updates do.
      await writeFile(path.join(dir, 'ws.json.tmp'), JSON.stringify(changed));
      await rename(path.join(dir, 'ws.json.tmp'), file);
      const fp = await updated;
      expect(store.current().fingerprint).toBe(fp);
      expect(store.current().sourceById.has('app')).toBe(true);
    } finally {
      store.close();
    }
  });

  it('the poll alone picks up a change when watching is off', async () => {
    const file = path.join(dir, 'ws.json');
    await writeFile(file, JSON.stringify(base()));
    const store = await WorkspaceStore.open(file, {
      log: recorder(),
      watch: false,
      pollIntervalMs: 30,
      debounceMs: 10,
    });
    try {
      const updated = new Promise<void>((resolve) => store.onChange(() => resolve()));
      const changed = base();
      changed.destinations[1] = { ...changed.destinations[1], enabled: false };
      await writeFile(file, JSON.stringify(changed, null, 2));
      await updated;
      expect(store.current().destinationById.get('hook')?.destination.enabled).toBe(false);
    } finally {
      store.close();
    }
  });
});
