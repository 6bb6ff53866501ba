import { JsonEvent, TransformRunner, TransformSandbox } from '../src';

const ev = (i: number, over: Partial<JsonEvent> = {}): JsonEvent => ({
  type: 'track',
  event: `Event ${i}`,
  messageId: `m-${i}`,
  userId: `u-${i}`,
  properties: { i },
  ...over,
});

async function sandbox(
  code: string,
  libraries: { name: string; code: string }[] = [],
  opts = {},
): Promise<TransformSandbox> {
  const sb = await TransformSandbox.create({ id: 't-test', code, libraries }, opts);
  expect(sb.error).toBeUndefined();
  return sb;
}

// Each sandbox starts a worker thread; loops and memory bombs run up to their limits.
jest.setTimeout(30_000);

describe('TransformSandbox', () => {
  const open: TransformSandbox[] = [];
  afterAll(() => open.forEach((s) => s.dispose()));
  const make = async (...args: Parameters<typeof sandbox>) => {
    const s = await sandbox(...args);
    open.push(s);
    return s;
  };

  it('changes an event (ESM transformEvent) and passes metadata both ways', async () => {
    const sb = await make(`
      export function transformEvent(event, metadata) {
        event.event = event.event.toLowerCase();
        event.properties.source = metadata(event).sourceId + '/' + metadata.destinationId;
        event.properties.mid = metadata.messageId;
        return event;
      }`);
    const out = await sb.run([ev(1)], { sourceId: 'web', destinationId: 'hook' });
    expect(out.results).toEqual([
      { kind: 'ok', events: [{ ...ev(1), event: 'event 1', properties: { i: 1, source: 'web/hook', mid: 'm-1' } }] },
    ]);
  });

  it("gives each event its own metadata: its messageId, every key (even a function's own names), no leaks between events", async () => {
    const sb = await make(`
      let previous;
      export function transformEvent(event, metadata) {
        metadata.destinationId = 'changed-by-' + event.messageId;
        event.properties.meta = {
          own: metadata.messageId,
          called: metadata({ messageId: 'other' }).messageId,
          calledWithout: metadata().messageId,
          dest: metadata().destinationId,
          name: metadata.name,
          length: metadata.length,
          keys: Object.keys(metadata).sort(),
          previousStillOwn: previous ? previous.messageId : null,
        };
        previous = metadata;
        return event;
      }`);
    const out = await sb.run([ev(1), ev(2)], {
      sourceId: 'web',
      destinationId: 'hook',
      name: 'meta-name',
      length: 'long',
    });
    const metas = out.results.map((r) =>
      r.kind === 'ok' ? (r.events[0].properties as { meta?: unknown } | undefined)?.meta : r,
    );
    expect(metas).toEqual([
      {
        own: 'm-1',
        called: 'other',
        calledWithout: 'm-1',
        dest: 'hook',
        name: 'meta-name',
        length: 'long',
        keys: ['destinationId', 'length', 'messageId', 'name', 'sourceId'],
        previousStillOwn: null,
      },
      {
        own: 'm-2',
        called: 'other',
        calledWithout: 'm-2',
        dest: 'hook',
        name: 'meta-name',
        length: 'long',
        keys: ['destinationId', 'length', 'messageId', 'name', 'sourceId'],
        previousStillOwn: 'm-1',
      },
    ]);
  });

  it('splits one event into two, drops with null/undefined/[], in CommonJS style too', async () => {
    const sb = await make(`
      function transformEvent(event) {
        if (event.properties.i === 1) return [event, Object.assign({}, event, { event: 'Copy', messageId: event.messageId + '-copy' })];
        if (event.properties.i === 2) return null;
        if (event.properties.i === 3) return undefined;
        if (event.properties.i === 4) return [];
        return event;
      }`);
    const out = await sb.run([ev(1), ev(2), ev(3), ev(4), ev(5)]);
    expect(out.results[0]).toEqual({ kind: 'ok', events: [ev(1), { ...ev(1), event: 'Copy', messageId: 'm-1-copy' }] });
    expect(out.results.slice(1, 4)).toEqual([{ kind: 'drop' }, { kind: 'drop' }, { kind: 'drop' }]);
    expect(out.results[4]).toEqual({ kind: 'ok', events: [ev(5)] });
  });

  it('a throw is an error for that event only; bad return values are invalid-output', async () => {
    const sb = await make(`
      export function transformEvent(event) {
        if (event.properties.i === 2) throw new Error('bad event ' + event.messageId);
        if (event.properties.i === 3) return 42;
        if (event.properties.i === 4) { const a = {}; a.self = a; return a; }
        return event;
      }`);
    const out = await sb.run([ev(1), ev(2), ev(3), ev(4), ev(5)]);
    expect(out.results[0].kind).toBe('ok');
    expect(out.results[1]).toEqual({
      kind: 'error',
      cause: 'exception',
      message: 'Error: bad event m-2',
      retriable: false,
    });
    expect(out.results[2]).toMatchObject({ kind: 'error', cause: 'invalid-output' });
    expect(out.results[3]).toMatchObject({ kind: 'error', cause: 'invalid-output' });
    expect(out.results[4].kind).toBe('ok');
  });

  it('an endless loop is a timeout error; the sandbox is recreated and the rest of the batch runs', async () => {
    const sb = await make(
      `export function transformEvent(event) { if (event.properties.i === 2) { while (true) {} } return event; }`,
      [],
      { timeLimitMs: 300 },
    );
    const out = await sb.run([ev(1), ev(2), ev(3)]);
    expect(out.results[0]).toEqual({ kind: 'ok', events: [ev(1)] });
    expect(out.results[1]).toMatchObject({ kind: 'error', cause: 'timeout', retriable: false });
    expect((out.results[1] as { message: string }).message).toMatch(/time limit of 300 ms/);
    expect(out.results[2]).toEqual({ kind: 'ok', events: [ev(3)] });
    expect(out.restarts).toBe(1);
    expect(sb.recreations).toBe(1);
    // Still usable afterwards.
    expect((await sb.run([ev(9)])).results).toEqual([{ kind: 'ok', events: [ev(9)] }]);
  });

  it('a loop in a user try/catch cannot swallow the deadline', async () => {
    const sb = await make(
      `export function transformEvent(event) { for (;;) { try { while (true) {} } catch (e) {} } }`,
      [],
      { timeLimitMs: 200 },
    );
    const out = await sb.run([ev(1)]);
    expect(out.results[0]).toMatchObject({ kind: 'error', cause: 'timeout' });
  });

  it('unbounded allocation is a memory error; the host and the sandbox go on', async () => {
    const sb = await make(
      `const keep = [];
       export function transformEvent(event) {
         if (event.properties.i === 1) { for (;;) keep.push(new ArrayBuffer(1 << 20)); }
         return event;
       }`,
    );
    const before = process.memoryUsage().heapUsed;
    const out = await sb.run([ev(0), ev(1), ev(2)]);
    expect(out.results[0].kind).toBe('ok');
    expect(out.results[1]).toMatchObject({ kind: 'error', cause: 'memory', retriable: false });
    expect((out.results[1] as { message: string }).message).toMatch(/memory limit of 134217728 bytes/);
    expect(out.results[2]).toEqual({ kind: 'ok', events: [ev(2)] });
    expect((await sb.run([ev(3)])).results[0].kind).toBe('ok');
    // The allocation happened in the sandbox's own memory, not the host's heap.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(16 * 1024 * 1024);
  });

  it('large strings (which QuickJS does not count) hit the hard WebAssembly memory cap', async () => {
    const sb = await make(
      `export function transformEvent(event) { let s = 'ab'; const keep = []; for (;;) { s = s + s; keep.push(s); } }`,
      [],
      { memoryLimitBytes: 32 * 1024 * 1024 },
    );
    const out = await sb.run([ev(1), ev(2)]);
    expect(out.results[0]).toMatchObject({ kind: 'error', retriable: false });
    expect(['memory', 'exception']).toContain((out.results[0] as { cause: string }).cause);
    expect(out.results[1]).toMatchObject({ kind: 'error' });
  });

  it('the watchdog stops a loop QuickJS cannot interrupt (time spent inside a built-in); the host event loop keeps running', async () => {
    const sb = await make(`export function transformEvent(event) { for (;;) { 'y'.repeat(1 << 22); } }`, [], {
      timeLimitMs: 300,
      memoryLimitBytes: 64 * 1024 * 1024,
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const started = Date.now();
    const out = await sb.run([ev(1), ev(2)]);
    clearInterval(timer);
    expect(out.results.map((r) => (r.kind === 'error' ? r.cause : r.kind))).toEqual(['timeout', 'timeout']);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(ticks).toBeGreaterThan(5);
    // A fresh worker takes over.
    const ok = await make(`export function transformEvent(e) { return e; }`);
    expect((await ok.run([ev(3)])).results[0].kind).toBe('ok');
    expect(sb.recreations).toBeGreaterThanOrEqual(1);
    const again = (await sb.run([ev(4)])).results[0];
    expect(sb.error).toBeUndefined();
    expect(again).toMatchObject({ kind: 'error', cause: 'timeout' });
  });

  it('gives up after repeated fatal failures in one batch and marks the rest skipped', async () => {
    const sb = await make(`export function transformEvent(event) { while (true) {} }`, [], {
      timeLimitMs: 50,
      maxRestartsPerBatch: 1,
    });
    const out = await sb.run([ev(1), ev(2), ev(3), ev(4)]);
    expect(out.results.map((r) => (r.kind === 'error' ? r.cause : r.kind))).toEqual([
      'timeout',
      'timeout',
      'skipped',
      'skipped',
    ]);
  });

  it('has no fs, network, process, Node modules or host globals', async () => {
    const sb = await make(`
      export function transformEvent(event) {
        const probe = {};
        for (const name of ['process', 'fetch', 'XMLHttpRequest', 'setTimeout', 'setInterval', 'Buffer', 'module', 'exports',
                            '__dirname', 'global', 'globalThis.process', 'WebAssembly', 'os', 'std', '__sluice']) {
          probe[name] = typeof globalThis[name];
        }
        const req = [];
        for (const m of ['fs', 'node:fs', 'child_process', 'http', 'net']) {
          try { require(m); req.push(m + ':loaded'); } catch (e) { req.push(m + ':' + e.message); }
        }
        let ctor;
        try { ctor = typeof (function () { return this; }).constructor('return process')(); } catch (e) { ctor = 'threw ' + e.name; }
        event.properties = { probe, req, ctor, globals: Object.getOwnPropertyNames(globalThis).sort() };
        return event;
      }`);
    const out = await sb.run([ev(1)]);
    const props = (out.results[0] as { events: JsonEvent[] }).events[0].properties as {
      probe: Record<string, string>;
      req: string[];
      ctor: string;
      globals: string[];
    };
    for (const t of Object.values(props.probe)) expect(t).toBe('undefined');
    for (const r of props.req)
      expect(r).toMatch(/^[\w:]+:Cannot find module '[\w:]+': only the transformation's libraries/);
    // Escaping through the Function constructor finds the same empty global object.
    expect(props.ctor).toBe('threw ReferenceError');
    const allowedExtras = ['console', 'require'];
    const hostish = props.globals.filter((g) => /^[a-z]/.test(g) && !allowedExtras.includes(g));
    // Lower-case globals in plain ECMAScript are the functions of the global object only.
    expect(hostish.sort()).toEqual([
      'decodeURI',
      'decodeURIComponent',
      'encodeURI',
      'encodeURIComponent',
      'escape',
      'eval',
      'globalThis',
      'isFinite',
      'isNaN',
      'parseFloat',
      'parseInt',
      'undefined',
      'unescape',
    ]);
  });

  it('an ESM import of a Node module fails to load with a clear error', async () => {
    const sb = await TransformSandbox.create({
      id: 't-fs',
      code: `import fs from 'fs'; export function transformEvent(e) { return e; }`,
    });
    open.push(sb);
    expect(sb.error).toMatch(/Cannot find module 'fs'/);
    const out = await sb.run([ev(1)]);
    expect(out.results[0]).toMatchObject({ kind: 'error', cause: 'load', retriable: false });
  });

  it('reports code that does not compile or exports nothing useful', async () => {
    const broken = await TransformSandbox.create({ id: 'b', code: 'export function transformEvent(e) { return e' });
    const empty = await TransformSandbox.create({ id: 'e', code: 'export const x = 1;' });
    open.push(broken, empty);
    expect(broken.error).toMatch(/SyntaxError/);
    expect(empty.error).toMatch(/must export a function transformEvent/);
  });

  it('imports and requires functions from transformation libraries (ESM and CommonJS)', async () => {
    const libraries = [
      {
        name: 'money',
        code: `export function cents(x) { return Math.round(x * 100); } export const CURRENCY = 'EUR';`,
      },
      {
        name: 'text-utils',
        code: `exports.slug = function (s) { return s.toLowerCase().replace(/[^a-z0-9]+/g, '-'); };`,
      },
      {
        name: 'combo',
        code: `import { cents } from 'money'; export function price(x) { return cents(x) + ' cents'; }`,
      },
    ];
    const esm = await make(
      `import { cents, CURRENCY } from 'money';
       import { slug } from 'text-utils';
       import * as combo from 'combo';
       export function transformEvent(event) {
         event.properties = { cents: cents(1.23), currency: CURRENCY, slug: slug(event.event), price: combo.price(2) };
         return event;
       }`,
      libraries,
    );
    const cjs = await make(
      `const { slug } = require('text-utils');
       const money = require('money');
       module.exports.transformEvent = (event) => ({ ...event, properties: { slug: slug(event.event), cents: money.cents(0.5) } });`,
      libraries,
    );
    expect((await esm.run([ev(1)])).results[0]).toEqual({
      kind: 'ok',
      events: [{ ...ev(1), properties: { cents: 123, currency: 'EUR', slug: 'event-1', price: '200 cents' } }],
    });
    expect((await cjs.run([ev(2)])).results[0]).toEqual({
      kind: 'ok',
      events: [{ ...ev(2), properties: { slug: 'event-2', cents: 50 } }],
    });
  });

  it('transformBatch: results matched to inputs by messageId; a throw fails the batch', async () => {
    const sb = await make(`
      export function transformBatch(events, metadata) {
        if (events.length === 1) throw new Error('boom');
        const out = events.filter((e) => e.properties.i !== 2).map((e) => ({ ...e, properties: { ...e.properties, dest: metadata.destinationId } }));
        out.push({ type: 'track', event: 'Summary', messageId: 'summary', properties: { n: events.length } });
        return out;
      }`);
    expect(sb.mode).toBe('batch');
    const out = await sb.run([ev(1), ev(2), ev(3)], { destinationId: 'd1' });
    expect(out.results).toEqual([
      { kind: 'ok', events: [{ ...ev(1), properties: { i: 1, dest: 'd1' } }] },
      { kind: 'drop' },
      { kind: 'ok', events: [{ ...ev(3), properties: { i: 3, dest: 'd1' } }] },
    ]);
    expect(out.unmatched).toEqual([{ type: 'track', event: 'Summary', messageId: 'summary', properties: { n: 3 } }]);
    const failed = await sb.run([ev(1)]);
    expect(failed.results).toEqual([{ kind: 'error', cause: 'exception', message: 'Error: boom', retriable: false }]);
  });

  it('async transformEvent works (no I/O inside, promises settle)', async () => {
    const sb = await make(`
      export async function transformEvent(event) {
        const v = await Promise.resolve(event.properties.i * 10);
        if (v === 20) throw new Error('async boom');
        return { ...event, properties: { v } };
      }`);
    const out = await sb.run([ev(1), ev(2)]);
    expect(out.results[0]).toEqual({ kind: 'ok', events: [{ ...ev(1), properties: { v: 10 } }] });
    expect(out.results[1]).toMatchObject({ kind: 'error', message: 'Error: async boom' });
  });

  it('collects console output, bounded', async () => {
    const sb = await make(
      `export function transformEvent(e) { for (let i = 0; i < 5; i++) console.log('line', i, { a: 1 }); return e; }`,
      [],
      {
        maxLogLines: 3,
      },
    );
    const out = await sb.run([ev(1)]);
    expect(out.logs).toEqual(['log: line 0 {"a":1}', 'log: line 1 {"a":1}', 'log: line 2 {"a":1}']);
  });

  it('state does not leak between sandboxes of different transformations', async () => {
    const a = await make(`globalThis.secret = 's3cret'; export function transformEvent(e) { return e; }`);
    const b = await make(
      `export function transformEvent(e) { e.properties = { seen: typeof globalThis.secret }; return e; }`,
    );
    await a.run([ev(1)]);
    expect((await b.run([ev(1)])).results[0]).toEqual({
      kind: 'ok',
      events: [{ ...ev(1), properties: { seen: 'undefined' } }],
    });
  });
});

describe('TransformRunner', () => {
  it('caches a sandbox per transformation and rebuilds it when the code changes', async () => {
    const runner = new TransformRunner();
    try {
      const v1 = { id: 'x', code: `export function transformEvent(e) { e.v = 1; return e; }` };
      const v2 = {
        id: 'x',
        code: `export function transformEvent(e, m) { e.v = 2; e.t = m.transformationId; return e; }`,
      };
      expect((await runner.run(v1, [ev(1)])).results[0]).toEqual({ kind: 'ok', events: [{ ...ev(1), v: 1 }] });
      expect((await runner.run(v2, [ev(1)])).results[0]).toEqual({ kind: 'ok', events: [{ ...ev(1), v: 2, t: 'x' }] });
      await runner.retain(new Set());
    } finally {
      await runner.close();
    }
  });
});
