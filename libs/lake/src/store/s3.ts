import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ClientConfig,
} from '@aws-sdk/client-s3';
import { bool, Env, num, z } from '@sluice/config';
import { ObjectStore, ObjectStoreError, PutIfAbsentResult } from './types';

export const s3StoreConfigSchema = z.object({
  bucket: z.string().min(1),
  /** Key prefix inside the bucket, no leading or trailing `/` needed. */
  prefix: z.string().default(''),
  region: z.string().min(1).default('us-east-1'),
  /** S3-compatible endpoint (MinIO, moto, ...); unset for AWS. */
  endpoint: z.string().url().optional(),
  forcePathStyle: z.boolean().default(false),
  credentials: z
    .object({ accessKeyId: z.string().min(1), secretAccessKey: z.string().min(1), sessionToken: z.string().optional() })
    .optional(),
  /** Retries of one request inside the SDK. */
  maxAttempts: z.number().int().min(1).default(5),
});
export type S3StoreConfig = z.input<typeof s3StoreConfigSchema>;

/**
 * Maps the environment onto `s3StoreConfigSchema` for a service's buildConfig:
 * S3_BUCKET, S3_PREFIX, S3_REGION (or AWS_REGION), S3_ENDPOINT,
 * S3_FORCE_PATH_STYLE, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
 * AWS_SESSION_TOKEN (unset: the SDK's default credential chain).
 */
export function readS3Env(env: Env): Record<string, unknown> {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  return {
    bucket: env.S3_BUCKET,
    prefix: env.S3_PREFIX,
    region: env.S3_REGION ?? env.AWS_REGION,
    endpoint: env.S3_ENDPOINT || undefined,
    forcePathStyle: bool(env.S3_FORCE_PATH_STYLE),
    maxAttempts: num(env.S3_MAX_ATTEMPTS),
    credentials: accessKeyId
      ? { accessKeyId, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, sessionToken: env.AWS_SESSION_TOKEN }
      : undefined,
  };
}

interface HttpError {
  name?: string;
  $metadata?: { httpStatusCode?: number };
}

function status(error: unknown): number | undefined {
  return (error as HttpError | undefined)?.$metadata?.httpStatusCode;
}

function retriable(error: unknown): boolean {
  const code = status(error);
  return code === undefined || code >= 500 || code === 429 || code === 408 || code === 409;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An S3 bucket (or prefix) as an object store. Put-if-absent is a PutObject
 * with `If-None-Match: *`: 412 means the key exists. A 409 (another
 * conditional write of the key in flight) is retried until one of them wins.
 */
export class S3Store implements ObjectStore {
  readonly url: string;
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(config: S3StoreConfig, client?: S3Client) {
    const c = s3StoreConfigSchema.parse(config);
    this.bucket = c.bucket;
    this.prefix = c.prefix.replace(/^\/+|\/+$/g, '');
    this.url = `s3://${c.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
    const clientConfig: S3ClientConfig = {
      region: c.region,
      forcePathStyle: c.forcePathStyle,
      maxAttempts: c.maxAttempts,
      // S3-compatible stores do not all take the SDK's default CRC checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    };
    if (c.endpoint) clientConfig.endpoint = c.endpoint;
    if (c.credentials) clientConfig.credentials = c.credentials;
    this.client = client ?? new S3Client(clientConfig);
  }

  private key(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutIfAbsentResult> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.client.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: bytes, IfNoneMatch: '*' }),
        );
        return 'created';
      } catch (error) {
        const code = status(error);
        if (code === 412) return 'exists';
        if (code === 409 && attempt < 10) {
          await sleep(20 * 2 ** Math.min(attempt, 5));
          continue;
        }
        throw new ObjectStoreError(
          `putIfAbsent ${key} in ${this.url} failed (status ${code ?? 'none'})`,
          retriable(error),
          {
            cause: error,
          },
        );
      }
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: bytes }));
    } catch (error) {
      throw new ObjectStoreError(
        `put ${key} in ${this.url} failed (status ${status(error) ?? 'none'})`,
        retriable(error),
        {
          cause: error,
        },
      );
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      if (!out.Body) return new Uint8Array();
      return await out.Body.transformToByteArray();
    } catch (error) {
      if (status(error) === 404 || (error as HttpError).name === 'NoSuchKey') return undefined;
      throw new ObjectStoreError(
        `get ${key} from ${this.url} failed (status ${status(error) ?? 'none'})`,
        retriable(error),
        {
          cause: error,
        },
      );
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    let token: string | undefined;
    try {
      do {
        const out = await this.client.send(
          new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.key(prefix), ContinuationToken: token }),
        );
        for (const object of out.Contents ?? []) if (object.Key) keys.push(object.Key.slice(strip));
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
    } catch (error) {
      throw new ObjectStoreError(
        `list ${prefix} in ${this.url} failed (status ${status(error) ?? 'none'})`,
        retriable(error),
        {
          cause: error,
        },
      );
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (error) {
      if (status(error) === 404) return;
      throw new ObjectStoreError(
        `delete ${key} in ${this.url} failed (status ${status(error) ?? 'none'})`,
        retriable(error),
        {
          cause: error,
        },
      );
    }
  }
}
