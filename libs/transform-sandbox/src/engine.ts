import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  QuickJSContext,
  QuickJSHandle,
  QuickJSRuntime,
  QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import releaseSync from '@jitl/quickjs-wasmfile-release-sync';
import type { QuickJSSyncVariant } from '@jitl/quickjs-ffi-types';
import { prelude } from './prelude';

import {
  BatchTransformResult,
  EventTransformResult,
  JsonEvent,
  SANDBOX_DEFAULTS,
  SandboxOptions,
  TransformationCode,
} from './types';

const USER_MODULE = '__sluice_transformation__';
/** `import x from`, `import {`, `import * as`, `import "m"`, `export function|const|default|{|*...` at a statement start. */
const ESM_SYNTAX =
  /(^|[;}\n])\s*(import\s*([\w$]+\s*(,|from)|\{|\*|["'])|export\s+(default\b|function\b|async\b|const\b|let\b|var\b|class\b|\{|\*))/;

/**
 * The release build of QuickJS as a separate .wasm file. The variant's own
 * loader uses a dynamic `import()`, which vm-based test runners refuse; this
 * one loads the CommonJS build of the same emscripten module with require.
 */
const variant: QuickJSSyncVariant = {
  type: 'sync',
  importFFI: () => releaseSync.importFFI(),
  importModuleLoader: async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loader = require('@jitl/quickjs-wasmfile-release-sync/emscripten-module') as { default: unknown };
    return loader.default as Awaited<ReturnType<QuickJSSyncVariant['importModuleLoader']>>;
  },
};

const WASM_PAGE = 64 * 1024;
/** lib ES2022 has no WebAssembly types; the one constructor used here. */
const WasmMemory = (
  globalThis as unknown as { WebAssembly: { Memory: new (d: { initial: number; maximum: number }) => object } }
).WebAssembly.Memory;
/** What QuickJS itself needs besides the user's heap (its own structures, the batch as JSON). */
const WASM_HEADROOM_BYTES = 64 * 1024 * 1024;

/**
 * The WASM module, one instance per sandbox with its own linear memory. The
 * memory's maximum is a hard cap: QuickJS's own limit does not count every
 * allocation (large strings escape it), the WebAssembly memory cannot grow
 * past its maximum, so an allocation beyond it fails inside QuickJS as "out
 * of memory". A memory failure drops the module, and with it the memory.
 */
async function loadModule(memoryLimitBytes: number): Promise<QuickJSWASMModule> {
  const maximum = Math.ceil((memoryLimitBytes + WASM_HEADROOM_BYTES) / WASM_PAGE);
  const wasmMemory = new WasmMemory({ initial: Math.min(256, maximum), maximum });
  return newQuickJSWASMModuleFromVariant(newVariant(variant, { wasmMemory: wasmMemory as never }));
}

class Fatal extends Error {
  constructor(
    readonly limit: 'timeout' | 'memory',
    message: string,
  ) {
    super(message);
  }
}

function isEsm(code: string): boolean {
  return ESM_SYNTAX.test(code);
}

function errorText(dumped: unknown): string {
  if (dumped !== null && typeof dumped === 'object') {
    const e = dumped as { name?: unknown; message?: unknown };
    if (typeof e.message === 'string') return `${typeof e.name === 'string' ? e.name : 'Error'}: ${e.message}`;
  }
  try {
    return `thrown: ${JSON.stringify(dumped)}`;
  } catch {
    return `thrown: ${String(dumped)}`;
  }
}

/** Wire shape of one event's result inside the VM. */
type WireResult = { k: 'ok'; e: JsonEvent[] } | { k: 'drop' } | { k: 'err'; m: string };

interface Live {
  module: QuickJSWASMModule;
  runtime: QuickJSRuntime;
  vm: QuickJSContext;
  run: QuickJSHandle;
  progress: QuickJSHandle;
  takeLogs: QuickJSHandle;
  mode: 'event' | 'batch';
}

/**
 * The engine inside a sandbox worker (see TransformSandbox, which is what
 * callers use): one user transformation in a QuickJS (WebAssembly) sandbox: its own JS
 * runtime with a memory limit, a stack limit and a deadline per batch, and
 * nothing of the host inside it — no fs, network, process, timers, Node
 * modules or host objects; only ECMAScript built-ins, `console` (collected)
 * and `require`/`import` of the transformation's own libraries. Events cross
 * as JSON.
 *
 * `run` never throws for anything the user code does: a throw is an error
 * result for that event; an endless loop or unbounded allocation is an error
 * result too, after which the sandbox is recreated and the rest of the batch
 * continues.
 */
export class QuickJsEngine {
  private live: Live | undefined;
  private loadError: string | undefined;
  private deadline = Number.POSITIVE_INFINITY;
  private readonly opts: typeof SANDBOX_DEFAULTS;
  /** Times the sandbox was recreated since it was created. */
  recreations = 0;
  /** Called when a new attempt at the rest of a batch starts after a recreation (the worker's watchdog re-arms on it). */
  onAttempt: (() => void) | undefined;

  private constructor(
    readonly transformation: TransformationCode,
    opts: SandboxOptions,
  ) {
    this.opts = { ...SANDBOX_DEFAULTS, ...opts };
  }

  /** Loads the code. Never throws for bad user code: `loadError` says why, and every event of every batch gets it. */
  static async create(transformation: TransformationCode, opts: SandboxOptions = {}): Promise<QuickJsEngine> {
    const sandbox = new QuickJsEngine(transformation, opts);
    await sandbox.start(await loadModule(sandbox.opts.memoryLimitBytes));
    return sandbox;
  }

  get error(): string | undefined {
    return this.loadError;
  }

  get mode(): 'event' | 'batch' | undefined {
    return this.live?.mode;
  }

  /** Memory the JS runtime uses now, in bytes (for metrics and tests). */
  memoryUsage(): number | undefined {
    if (!this.live) return undefined;
    const handle = this.live.runtime.computeMemoryUsage();
    try {
      const usage = this.live.vm.dump(handle) as { memory_used_size?: number };
      return usage.memory_used_size;
    } finally {
      handle.dispose();
    }
  }

  /**
   * Runs one batch. `metadata` is passed to the code (`metadata.sourceId`, or
   * RudderStack-style `metadata(event)`), with each event's messageId added.
   */
  async run(events: ReadonlyArray<JsonEvent>, metadata: Record<string, unknown> = {}): Promise<BatchTransformResult> {
    const results: EventTransformResult[] = new Array<EventTransformResult>(events.length);
    const logs: string[] = [];
    let unmatched: JsonEvent[] = [];
    let restarts = 0;
    let start = 0;
    while (start < events.length) {
      if (!this.live) {
        const message = `transformation ${this.transformation.id} could not be loaded: ${this.loadError ?? 'unknown error'}`;
        for (let i = start; i < events.length; i++)
          results[i] = { kind: 'error', cause: 'load', message, retriable: false };
        break;
      }
      const slice = start === 0 ? events : events.slice(start);
      try {
        const out = this.runOnce(slice, metadata);
        logs.push(...out.logs);
        if (out.kind === 'event') {
          out.results.forEach((r, i) => (results[start + i] = r));
        } else {
          const mapped = this.mapBatch(slice, out.batch);
          mapped.results.forEach((r, i) => (results[start + i] = r));
          unmatched = mapped.unmatched;
        }
        break;
      } catch (err) {
        if (!(err instanceof Fatal)) throw err;
        const done = this.live.mode === 'event' ? this.readProgress() : [];
        logs.push(...this.readLogs());
        done.forEach((r, i) => (results[start + i] = r));
        const failed = start + done.length;
        const limit =
          err.limit === 'timeout'
            ? `time limit of ${this.opts.timeLimitMs} ms`
            : `memory limit of ${this.opts.memoryLimitBytes} bytes`;
        const message = `transformation ${this.transformation.id} exceeded its ${limit} (${err.message})`;
        if (this.live.mode === 'batch') {
          for (let i = start; i < events.length; i++)
            results[i] = { kind: 'error', cause: err.limit, message, retriable: false };
          start = events.length;
        } else {
          results[failed] = { kind: 'error', cause: err.limit, message, retriable: false };
          start = failed + 1;
        }
        await this.recreate(err.limit === 'memory');
        restarts++;
        this.onAttempt?.();
        if (start < events.length && restarts > this.opts.maxRestartsPerBatch) {
          const skipped = `not run: transformation ${this.transformation.id} failed ${restarts} times in this batch`;
          for (let i = start; i < events.length; i++)
            results[i] = { kind: 'error', cause: 'skipped', message: skipped, retriable: false };
          break;
        }
      }
    }
    return { results, unmatched, logs, restarts };
  }

  dispose(): void {
    this.teardown();
  }

  // ---------------------------------------------------------------------------

  private async recreate(newModule: boolean): Promise<void> {
    const module = this.live?.module;
    const clean = this.teardown();
    this.recreations++;
    await this.start(newModule || !clean || !module ? await loadModule(this.opts.memoryLimitBytes) : module);
  }

  /** Frees the runtime; false if QuickJS complained (then the WASM module is not reused). */
  private teardown(): boolean {
    const live = this.live;
    this.live = undefined;
    if (!live) return true;
    try {
      live.run.dispose();
      live.progress.dispose();
      live.takeLogs.dispose();
      live.vm.dispose();
      live.runtime.dispose();
      return true;
    } catch {
      return false;
    }
  }

  private async start(module: QuickJSWASMModule): Promise<void> {
    const { id, code } = this.transformation;
    const libraries = this.transformation.libraries ?? [];
    const runtime = module.newRuntime();
    runtime.setMemoryLimit(this.opts.memoryLimitBytes);
    runtime.setMaxStackSize(this.opts.maxStackBytes);
    runtime.setInterruptHandler(() => Date.now() > this.deadline);
    const vm = runtime.newContext();
    const libByName = new Map(libraries.map((l) => [l.name, l.code]));
    const cjsKeys = new Map<string, string[]>();
    const userIsEsm = isEsm(code);
    runtime.setModuleLoader((name) => {
      if (name === USER_MODULE && userIsEsm) return code;
      const lib = libByName.get(name);
      if (lib === undefined)
        return {
          error: new Error(`Cannot find module '${name}': only the transformation's libraries can be imported`),
        };
      if (isEsm(lib)) return lib;
      // A CommonJS library imported with `import`: its exports as named exports, the whole object as default.
      const keys = (cjsKeys.get(name) ?? []).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default');
      return [
        `const m = globalThis.require(${JSON.stringify(name)});`,
        'export default m;',
        ...keys.map((k) => `export const ${k} = m[${JSON.stringify(k)}];`),
      ].join('\n');
    });

    const fail = (message: string) => {
      this.loadError = message;
      try {
        vm.dispose();
        runtime.dispose();
      } catch {
        /* already broken */
      }
    };

    // Loading (prelude, libraries, top-level code) gets at least 5 s: a busy machine must not fail a good transformation.
    this.deadline = Date.now() + Math.max(this.opts.timeLimitMs, 5000);
    try {
      this.evalGlobal(vm, prelude(this.opts.maxLogLines), 'sluice-prelude.js');
      for (const lib of libraries) {
        if (isEsm(lib.code)) continue;
        this.callHelper(vm, 'setCjs', [lib.name, lib.code]);
        cjsKeys.set(lib.name, JSON.parse(this.callHelper(vm, 'cjsKeys', [lib.name])) as string[]);
      }
      for (const lib of libraries) {
        if (!isEsm(lib.code)) continue;
        this.evalModule(
          vm,
          runtime,
          `import * as ns from ${JSON.stringify(lib.name)}; globalThis.__sluice.setEsm(${JSON.stringify(lib.name)}, ns);`,
          `sluice-lib-${lib.name}.js`,
        );
      }
      if (userIsEsm) {
        this.evalModule(
          vm,
          runtime,
          `import * as u from "${USER_MODULE}"; globalThis.__sluice.install(u);`,
          `${id}.js`,
        );
      } else {
        this.callHelper(vm, 'loadScript', [code]);
      }
      const check = this.callHelper(vm, 'check', []);
      if (check !== 'event' && check !== 'batch') {
        fail(check);
        return;
      }
      const helpers = vm.getProp(vm.global, '__sluice');
      const run = vm.getProp(helpers, 'run');
      const progress = vm.getProp(helpers, 'progress');
      const takeLogs = vm.getProp(helpers, 'takeLogs');
      helpers.dispose();
      this.evalGlobal(vm, 'delete globalThis.__sluice;', 'sluice-seal.js');
      this.live = { module, runtime, vm, run, progress, takeLogs, mode: check };
      this.loadError = undefined;
    } catch (err) {
      fail(
        err instanceof Fatal
          ? `${err.limit === 'timeout' ? 'loading took longer than the time limit' : 'loading ran out of memory'}`
          : (err as Error).message,
      );
    } finally {
      this.deadline = Number.POSITIVE_INFINITY;
    }
  }

  private evalGlobal(vm: QuickJSContext, source: string, filename: string): void {
    const res = vm.evalCode(source, filename, { type: 'global' });
    if (res.error) this.throwVmError(vm, res.error);
    res.value.dispose();
  }

  private evalModule(vm: QuickJSContext, runtime: QuickJSRuntime, source: string, filename: string): void {
    const res = vm.evalCode(source, filename, { type: 'module' });
    if (res.error) this.throwVmError(vm, res.error);
    this.settle(vm, runtime, res.value).dispose();
  }

  /** Resolves a value that may be a promise by running the VM's pending jobs (there is no I/O inside). */
  private settle(vm: QuickJSContext, runtime: QuickJSRuntime, value: QuickJSHandle): QuickJSHandle {
    const first = vm.getPromiseState(value);
    if (first.type === 'fulfilled' && first.notAPromise) return value;
    if (first.type === 'fulfilled') first.value.dispose();
    if (first.type === 'rejected') first.error.dispose();
    const jobs = runtime.executePendingJobs();
    if (jobs.error) {
      value.dispose();
      this.throwVmError(vm, jobs.error);
    }
    const state = vm.getPromiseState(value);
    value.dispose();
    if (state.type === 'fulfilled') return state.value;
    if (state.type === 'rejected') this.throwVmError(vm, state.error);
    throw new Error('the transformation awaits something that never settles');
  }

  private throwVmError(vm: QuickJSContext, handle: QuickJSHandle): never {
    let dumped: unknown;
    try {
      dumped = vm.dump(handle);
    } catch {
      dumped = { name: 'InternalError', message: 'out of memory' };
    } finally {
      handle.dispose();
    }
    const text = errorText(dumped);
    if (/^InternalError: interrupted/.test(text)) throw new Fatal('timeout', 'interrupted');
    if (/out of memory/i.test(text)) throw new Fatal('memory', 'out of memory');
    throw new Error(text);
  }

  private callHelper(vm: QuickJSContext, name: string, args: string[]): string {
    const helpers = vm.getProp(vm.global, '__sluice');
    const fn = vm.getProp(helpers, name);
    const argHandles = args.map((a) => vm.newString(a));
    try {
      const res = vm.callFunction(fn, helpers, ...argHandles);
      if (res.error) this.throwVmError(vm, res.error);
      const out = vm.typeof(res.value) === 'string' ? vm.getString(res.value) : '';
      res.value.dispose();
      return out;
    } finally {
      argHandles.forEach((h) => h.dispose());
      fn.dispose();
      helpers.dispose();
    }
  }

  private runOnce(
    events: ReadonlyArray<JsonEvent>,
    metadata: Record<string, unknown>,
  ):
    | { kind: 'event'; results: EventTransformResult[]; logs: string[] }
    | { kind: 'batch'; batch: JsonEvent[] | null; logs: string[] } {
    const live = this.live as Live;
    const { vm, runtime } = live;
    const input = vm.newString(JSON.stringify({ events, metadata }));
    this.deadline = Date.now() + this.opts.timeLimitMs;
    let text: string;
    try {
      const res = vm.callFunction(live.run, vm.undefined, input);
      if (res.error) {
        try {
          this.throwVmError(vm, res.error);
        } catch (err) {
          if (err instanceof Fatal || live.mode === 'event') throw err;
          // transformBatch threw: every event of the batch gets the error.
          const message = (err as Error).message;
          return {
            kind: 'event',
            results: events.map(() => ({ kind: 'error', cause: 'exception', message, retriable: false })),
            logs: this.readLogs(),
          };
        }
      }
      let value: QuickJSHandle;
      try {
        value = this.settle(vm, runtime, res.value);
      } catch (err) {
        if (err instanceof Fatal) throw err;
        const message = (err as Error).message;
        return {
          kind: 'event',
          results: events.map(() => ({ kind: 'error', cause: 'exception', message, retriable: false })),
          logs: this.readLogs(),
        };
      }
      text = vm.getString(value);
      value.dispose();
    } finally {
      input.dispose();
      this.deadline = Number.POSITIVE_INFINITY;
    }
    const logs = this.readLogs();
    if (live.mode === 'batch')
      return { kind: 'batch', batch: (JSON.parse(text) as { batch: JsonEvent[] | null }).batch, logs };
    return { kind: 'event', results: (JSON.parse(text) as WireResult[]).map(fromWire), logs };
  }

  /** transformBatch output → per-input results, matched by messageId. */
  private mapBatch(
    inputs: ReadonlyArray<JsonEvent>,
    batch: JsonEvent[] | null,
  ): { results: EventTransformResult[]; unmatched: JsonEvent[] } {
    const byId = new Map<string, number>();
    inputs.forEach((e, i) => {
      if (typeof e.messageId === 'string' && !byId.has(e.messageId)) byId.set(e.messageId, i);
    });
    const outs: JsonEvent[][] = inputs.map(() => []);
    const unmatched: JsonEvent[] = [];
    for (const e of batch ?? []) {
      const i = typeof e.messageId === 'string' ? byId.get(e.messageId) : undefined;
      if (i === undefined) unmatched.push(e);
      else outs[i].push(e);
    }
    return {
      results: outs.map((list) => (list.length > 0 ? { kind: 'ok', events: list } : { kind: 'drop' })),
      unmatched,
    };
  }

  private readProgress(): EventTransformResult[] {
    const live = this.live;
    if (!live) return [];
    try {
      const res = live.vm.callFunction(live.progress, live.vm.undefined);
      if (res.error) {
        res.error.dispose();
        return [];
      }
      const text = live.vm.getString(res.value);
      res.value.dispose();
      return (JSON.parse(text) as WireResult[]).map(fromWire);
    } catch {
      return [];
    }
  }

  private readLogs(): string[] {
    const live = this.live;
    if (!live) return [];
    try {
      const res = live.vm.callFunction(live.takeLogs, live.vm.undefined);
      if (res.error) {
        res.error.dispose();
        return [];
      }
      const text = live.vm.getString(res.value);
      res.value.dispose();
      return JSON.parse(text) as string[];
    } catch {
      return [];
    }
  }
}

function fromWire(w: WireResult): EventTransformResult {
  if (w.k === 'ok') return { kind: 'ok', events: w.e };
  if (w.k === 'drop') return { kind: 'drop' };
  return {
    kind: 'error',
    cause:
      w.m.startsWith('transformEvent must return') || w.m.startsWith('the returned event')
        ? 'invalid-output'
        : 'exception',
    message: w.m,
    retriable: false,
  };
}
