/** An event as plain JSON (the sandbox copies it in and out as JSON). */
export type JsonEvent = Record<string, unknown>;

export interface TransformationCode {
  id: string;
  code: string;
  /** The libraries the code may import or require, by name. */
  libraries?: ReadonlyArray<{ name: string; code: string }>;
}

export interface SandboxOptions {
  /** Heap limit of the transformation's JS runtime. Default 128 MB. */
  memoryLimitBytes?: number;
  /** Wall-clock limit for one batch (and for loading the code). Default 5000 ms. */
  timeLimitMs?: number;
  /** Interpreter stack limit. Default 1 MB. */
  maxStackBytes?: number;
  /** console.* lines kept per batch. Default 100. */
  maxLogLines?: number;
  /** After a timeout or memory failure the rest of the batch runs in a fresh sandbox, at most this many times per batch. Default 2. */
  maxRestartsPerBatch?: number;
}

export type ErrorCause = 'exception' | 'timeout' | 'memory' | 'invalid-output' | 'load' | 'skipped';

export type EventTransformResult =
  | { kind: 'ok'; events: JsonEvent[] }
  | { kind: 'drop' }
  | { kind: 'error'; cause: ErrorCause; message: string; retriable: false };

export interface BatchTransformResult {
  /** One result per input event, in order. */
  results: EventTransformResult[];
  /** transformBatch outputs whose messageId matches no input event. */
  unmatched: JsonEvent[];
  /** What the code printed with console.* during the batch (bounded). */
  logs: string[];
  /** How many times the sandbox was recreated during this batch. */
  restarts: number;
}

export const SANDBOX_DEFAULTS = {
  memoryLimitBytes: 128 * 1024 * 1024,
  timeLimitMs: 5000,
  maxStackBytes: 1024 * 1024,
  maxLogLines: 100,
  maxRestartsPerBatch: 2,
};
