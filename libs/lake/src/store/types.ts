/** What a put-if-absent did: wrote the object, or found one already there (and left it). */
export type PutIfAbsentResult = 'created' | 'exists';

/**
 * The small object-store interface the lake writers need. Keys are
 * `/`-separated paths relative to the store's root (folder or bucket prefix).
 */
export interface ObjectStore {
  /** For logs and errors, e.g. `file:///data/lake` or `s3://bucket/prefix`. */
  readonly url: string;
  /** Atomic create: exactly one of several concurrent writers of a key gets 'created'. */
  putIfAbsent(key: string, bytes: Uint8Array): Promise<PutIfAbsentResult>;
  /** Create or replace. */
  put(key: string, bytes: Uint8Array): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Keys starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Removes a key; no error when it is absent. */
  delete(key: string): Promise<void>;
}

/** Errors of a store carry whether retrying may help. */
export class ObjectStoreError extends Error {
  constructor(
    message: string,
    readonly retriable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ObjectStoreError';
  }
}
