import type { Worker } from 'node:worker_threads';
import type { Logger } from '@sluice/observability';
import type { OutRecord } from './batcher';
import type { GatewayConfig } from './config';
import type { EncodeContext } from './encode-request';
import { RequestError } from './payload';
import { PackedRecords, unpackRecords } from './record-transfer';
import { startGatewayThread } from './threads';

/**
 * Encoder threads (decision 0508): a request's body goes to the least busy
 * thread, which parses, validates, enriches and Avro-encodes its events and
 * sends the records back in one transferred buffer. The HTTP thread keeps only
 * the connections, auth, limits, batching and the answer, so one process uses
 * every core without node:cluster's extra processes.
 */

export interface EncoderThreadData {
  topic: string;
  config: GatewayConfig;
}

/** HTTP thread → encoder thread. */
export interface EncodeMessage {
  type: 'encode';
  id: number;
  body: ArrayBuffer;
  sourceId: string;
  ctx: EncodeContext;
}

/** Encoder thread → HTTP thread. */
export type FromEncoderThread =
  | { type: 'ready' }
  | { type: 'start-failed'; message: string }
  | ({ type: 'encoded'; id: number } & PackedRecords)
  | { type: 'rejected'; id: number; status: number; message: string }
  | { type: 'failed'; id: number; message: string };

export interface RequestEncoder {
  /** The body's events as records for `sourceId`; rejects with RequestError for bad input. */
  encode(body: Buffer, sourceId: string, ctx: EncodeContext): Promise<OutRecord[]>;
  close(): Promise<void>;
}

interface Pending {
  resolve: (records: OutRecord[]) => void;
  reject: (err: Error) => void;
}

class EncoderThread {
  readonly pending = new Map<number, Pending>();
  readonly ready: Promise<void>;
  private worker: Worker;
  private stopping = false;

  constructor(
    private readonly data: EncoderThreadData,
    private readonly log: Logger,
    readonly index: number,
  ) {
    this.worker = startGatewayThread('encoder-thread-main', data);
    this.ready = this.attach();
  }

  private attach(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.worker.on('message', (msg: FromEncoderThread) => {
        if (msg.type === 'ready') return resolve();
        if (msg.type === 'start-failed') return reject(new Error(`encoder thread could not start: ${msg.message}`));
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (msg.type === 'encoded') p.resolve(unpackRecords(msg));
        else if (msg.type === 'rejected') p.reject(new RequestError(msg.status, msg.message));
        else p.reject(new Error(`encoder thread ${this.index}: ${msg.message}`));
      });
      this.worker.on('error', (err) => {
        reject(err);
        this.log.error({ thread: this.index, err: err.message }, 'encoder thread failed');
      });
      this.worker.on('exit', (code) => {
        const err = new Error(`encoder thread ${this.index} exited with code ${code}`);
        reject(err);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        if (!this.stopping) {
          // A thread that died takes only its own requests (answered 500); the next ones get a new thread.
          this.log.error({ thread: this.index, code }, 'encoder thread exited; starting another');
          this.worker = startGatewayThread('encoder-thread-main', this.data);
          void this.attach().catch(() => undefined);
        }
      });
    });
  }

  post(msg: EncodeMessage): Promise<OutRecord[]> {
    return new Promise<OutRecord[]>((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg, [msg.body]);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }
}

export async function startEncoderPool(threads: number, data: EncoderThreadData, log: Logger): Promise<RequestEncoder> {
  const pool = Array.from({ length: threads }, (_, i) => new EncoderThread(data, log, i));
  try {
    await Promise.all(pool.map((t) => t.ready));
  } catch (err) {
    await Promise.all(pool.map((t) => t.stop()));
    throw err;
  }
  let nextId = 1;
  return {
    encode(body, sourceId, ctx) {
      let least = pool[0];
      for (const t of pool) if (t.pending.size < least.pending.size) least = t;
      // A copy the thread owns (the body may be a slice of a shared pool buffer).
      const copy = new ArrayBuffer(body.length);
      new Uint8Array(copy).set(body);
      return least.post({ type: 'encode', id: nextId++, body: copy, sourceId, ctx });
    },
    async close() {
      await Promise.all(pool.map((t) => t.stop()));
    },
  };
}
