import type { MessagePort } from 'node:worker_threads';
import { QuickJsEngine } from './engine';
import type { BatchTransformResult, JsonEvent, SandboxOptions, TransformationCode } from './types';

export interface WorkerInit {
  transformation: TransformationCode;
  options: SandboxOptions;
}

/** Batches and results cross as JSON text: cheaper than structured clone for event-shaped data. */
export type ToWorker = { type: 'run'; id: number; input: string };

export type FromWorker =
  | { type: 'ready'; error: string | undefined; mode: 'event' | 'batch' | undefined }
  | { type: 'attempt'; id: number }
  | { type: 'result'; id: number; json: string; recreations: number }
  | { type: 'failed'; id: number; message: string };

/** Runs inside the sandbox worker thread: one engine, batches one at a time. */
export async function startWorker(port: MessagePort, init: WorkerInit): Promise<void> {
  const engine = await QuickJsEngine.create(init.transformation, init.options);
  let current = -1;
  engine.onAttempt = () => port.postMessage({ type: 'attempt', id: current } satisfies FromWorker);
  port.postMessage({ type: 'ready', error: engine.error, mode: engine.mode } satisfies FromWorker);
  let chain = Promise.resolve();
  port.on('message', (msg: ToWorker) => {
    if (msg.type !== 'run') return;
    chain = chain.then(async () => {
      current = msg.id;
      try {
        const { events, metadata } = JSON.parse(msg.input) as {
          events: JsonEvent[];
          metadata: Record<string, unknown>;
        };
        const result: BatchTransformResult = await engine.run(events, metadata);
        port.postMessage({
          type: 'result',
          id: msg.id,
          json: JSON.stringify(result),
          recreations: engine.recreations,
        } satisfies FromWorker);
      } catch (err) {
        port.postMessage({ type: 'failed', id: msg.id, message: (err as Error).message } satisfies FromWorker);
      }
    });
  });
}
