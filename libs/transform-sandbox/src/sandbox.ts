import { createHash } from 'node:crypto';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './worker-entry';
import { BatchTransformResult, JsonEvent, SANDBOX_DEFAULTS, SandboxOptions, TransformationCode } from './types';

export * from './types';

/** Extra time the watchdog allows past the time limit before it kills the worker. */
const WATCHDOG_GRACE_MS = 1000;

/**
 * The worker runs TypeScript sources (there is no build step): it registers
 * tsx's CommonJS hook, then loads worker-entry.ts.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
require(workerData.tsxHook);
require(workerData.entry).startWorker(parentPort, workerData.init).catch((err) => {
  parentPort.postMessage({ type: 'ready', error: 'sandbox worker failed to start: ' + (err && err.message), mode: undefined });
});
`;

interface Pending {
  id: number;
  events: ReadonlyArray<JsonEvent>;
  resolve: (r: BatchTransformResult) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * A user transformation in a sandbox: QuickJS compiled to WebAssembly, in
 * its own worker thread.
 *
 * Inside: its own JS runtime with a memory limit (plus a hard cap on the
 * WebAssembly memory), a stack limit, a deadline per batch, and nothing of
 * the host — no fs, network, process, timers, Node modules or host objects;
 * only ECMAScript built-ins, `console` (collected) and `require`/`import` of
 * the transformation's own libraries. Events cross as JSON.
 *
 * Outside: a watchdog. QuickJS checks its deadline between bytecodes, so a
 * loop spending its time inside one built-in (say `'x'.repeat(1e7)` over and
 * over) could overrun it; if a batch is not answered within the time limit
 * plus a grace second, the worker is terminated and started again, and the
 * unanswered events get a timeout error. The host's event loop is never
 * blocked by user code.
 *
 * `run` never rejects for anything the user code does: a throw is an error
 * result for that event; an endless loop or unbounded allocation is an error
 * result too (the sandbox is recreated, the rest of the batch continues).
 */
export class TransformSandbox {
  private worker: Worker | undefined;
  private ready: Promise<void> = Promise.resolve();
  private loadError: string | undefined;
  private loadedMode: 'event' | 'batch' | undefined;
  private pending: Pending | undefined;
  private nextId = 1;
  private chain: Promise<unknown> = Promise.resolve();
  private readonly opts: typeof SANDBOX_DEFAULTS;
  private engineRecreations = 0;
  private kills = 0;
  private disposed = false;

  private constructor(
    readonly transformation: TransformationCode,
    opts: SandboxOptions,
  ) {
    this.opts = { ...SANDBOX_DEFAULTS, ...opts };
  }

  /** Starts the worker and loads the code. Never throws for bad user code: `error` says why, and every event gets it. */
  static async create(transformation: TransformationCode, opts: SandboxOptions = {}): Promise<TransformSandbox> {
    const sandbox = new TransformSandbox(transformation, opts);
    sandbox.spawn();
    await sandbox.ready;
    return sandbox;
  }

  /** Why the code could not be loaded, if it could not. */
  get error(): string | undefined {
    return this.loadError;
  }

  get mode(): 'event' | 'batch' | undefined {
    return this.loadedMode;
  }

  /** Times the sandbox was recreated (after a timeout or memory failure, or a watchdog kill). */
  get recreations(): number {
    return this.engineRecreations + this.kills;
  }

  /**
   * Runs one batch. `metadata` is passed to the code (`metadata.sourceId`, or
   * RudderStack-style `metadata(event)`), with each event's messageId added.
   * Batches of one sandbox run one after another.
   */
  run(events: ReadonlyArray<JsonEvent>, metadata: Record<string, unknown> = {}): Promise<BatchTransformResult> {
    const next = this.chain.then(() => this.runNow(events, metadata));
    this.chain = next.catch(() => undefined);
    return next;
  }

  dispose(): void {
    this.disposed = true;
    const worker = this.worker;
    this.worker = undefined;
    if (worker) void worker.terminate();
    this.finish(this.pending, (events) => this.errorsFor(events, 'skipped', 'the sandbox was disposed'));
  }

  // ---------------------------------------------------------------------------

  private spawn(): void {
    const init: WorkerInit = { transformation: this.transformation, options: this.opts };
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        tsxHook: require.resolve('tsx/cjs'),
        entry: path.join(__dirname, 'worker-entry.ts'),
        init,
      },
      // The worker's own JS heap holds a batch or two as JSON; QuickJS's heap is WebAssembly memory, capped separately.
      resourceLimits: { maxOldGenerationSizeMb: 256 },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    this.worker = worker;
    this.ready = new Promise<void>((resolve) => {
      let started = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'ready') {
          started = true;
          this.loadError = msg.error;
          this.loadedMode = msg.mode;
          resolve();
        } else this.onMessage(worker, msg);
      });
      worker.on('error', (err) => {
        if (!started) {
          started = true;
          this.loadError = `sandbox worker failed: ${err.message}`;
          resolve();
        }
        this.onWorkerGone(worker, `the sandbox worker failed: ${err.message}`);
      });
      worker.on('exit', () => {
        if (!started) {
          started = true;
          this.loadError = this.loadError ?? 'the sandbox worker exited while loading';
          resolve();
        }
        this.onWorkerGone(worker, 'the sandbox worker exited');
      });
    });
  }

  private async runNow(
    events: ReadonlyArray<JsonEvent>,
    metadata: Record<string, unknown>,
  ): Promise<BatchTransformResult> {
    if (events.length === 0) return { results: [], unmatched: [], logs: [], restarts: 0 };
    if (this.disposed)
      return {
        results: this.errorsFor(events, 'skipped', 'the sandbox was disposed'),
        unmatched: [],
        logs: [],
        restarts: 0,
      };
    if (!this.worker) this.spawn();
    await this.ready;
    const worker = this.worker;
    if (!worker)
      return {
        results: this.errorsFor(events, 'skipped', 'the sandbox was disposed'),
        unmatched: [],
        logs: [],
        restarts: 0,
      };
    return new Promise<BatchTransformResult>((resolve) => {
      const id = this.nextId++;
      this.pending = { id, events, resolve, timer: undefined };
      this.arm(worker, id);
      worker.postMessage({ type: 'run', id, input: JSON.stringify({ events, metadata }) } satisfies ToWorker);
    });
  }

  private arm(worker: Worker, id: number): void {
    const p = this.pending;
    if (!p || p.id !== id) return;
    if (p.timer) clearTimeout(p.timer);
    p.timer = setTimeout(() => this.kill(worker, id), this.opts.timeLimitMs + WATCHDOG_GRACE_MS);
  }

  private onMessage(worker: Worker, msg: FromWorker): void {
    if (worker !== this.worker) return;
    const p = this.pending;
    if (msg.type === 'attempt') {
      this.arm(worker, msg.id);
    } else if (msg.type === 'result' && p && p.id === msg.id) {
      this.engineRecreations = msg.recreations;
      const result = JSON.parse(msg.json) as BatchTransformResult;
      this.finish(p, () => result.results, result);
    } else if (msg.type === 'failed' && p && p.id === msg.id) {
      this.finish(p, (events) => this.errorsFor(events, 'exception', `sandbox failure: ${msg.message}`));
    }
  }

  /** The watchdog: the batch overran its time limit in a way QuickJS did not interrupt. */
  private kill(worker: Worker, id: number): void {
    if (worker !== this.worker || this.pending?.id !== id) return;
    this.worker = undefined;
    this.kills++;
    void worker.terminate();
    const message =
      `transformation ${this.transformation.id} exceeded its time limit of ${this.opts.timeLimitMs} ms ` +
      'and did not stop; the sandbox was terminated';
    this.finish(this.pending, (events) => this.errorsFor(events, 'timeout', message), undefined, 1);
    if (!this.disposed) this.spawn();
  }

  private onWorkerGone(worker: Worker, why: string): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    this.kills++;
    this.finish(
      this.pending,
      (events) => this.errorsFor(events, 'memory', `transformation ${this.transformation.id}: ${why}`),
      undefined,
      1,
    );
  }

  private finish(
    p: Pending | undefined,
    results: (events: ReadonlyArray<JsonEvent>) => BatchTransformResult['results'],
    full?: BatchTransformResult,
    extraRestarts = 0,
  ): void {
    if (!p || this.pending !== p) return;
    this.pending = undefined;
    if (p.timer) clearTimeout(p.timer);
    p.resolve(full ?? { results: results(p.events), unmatched: [], logs: [], restarts: extraRestarts });
  }

  private errorsFor(
    events: ReadonlyArray<JsonEvent>,
    cause: 'timeout' | 'memory' | 'exception' | 'skipped',
    message: string,
  ): BatchTransformResult['results'] {
    return events.map(() => ({ kind: 'error' as const, cause, message, retriable: false as const }));
  }
}

/** Identity of a transformation's code: the sandbox is rebuilt when it changes. */
export function transformationFingerprint(t: TransformationCode): string {
  const h = createHash('sha256').update(t.code);
  for (const l of t.libraries ?? []) h.update('\0').update(l.name).update('\0').update(l.code);
  return h.digest('hex');
}

/**
 * Sandboxes by transformation id, created on first use and replaced when the
 * code or its libraries change (e.g. after a workspace reload).
 */
export class TransformRunner {
  private readonly sandboxes = new Map<string, { fingerprint: string; sandbox: Promise<TransformSandbox> }>();

  constructor(private readonly opts: SandboxOptions = {}) {}

  async run(
    transformation: TransformationCode,
    events: ReadonlyArray<JsonEvent>,
    metadata: Record<string, unknown> = {},
  ): Promise<BatchTransformResult> {
    const fingerprint = transformationFingerprint(transformation);
    let entry = this.sandboxes.get(transformation.id);
    if (!entry || entry.fingerprint !== fingerprint) {
      if (entry) (await entry.sandbox).dispose();
      entry = { fingerprint, sandbox: TransformSandbox.create(transformation, this.opts) };
      this.sandboxes.set(transformation.id, entry);
    }
    return (await entry.sandbox).run(events, { transformationId: transformation.id, ...metadata });
  }

  /** Drops sandboxes of transformations no longer in the workspace. */
  async retain(ids: ReadonlySet<string>): Promise<void> {
    for (const [id, entry] of this.sandboxes) {
      if (!ids.has(id)) {
        this.sandboxes.delete(id);
        (await entry.sandbox).dispose();
      }
    }
  }

  async close(): Promise<void> {
    for (const entry of this.sandboxes.values()) (await entry.sandbox).dispose();
    this.sandboxes.clear();
  }
}
