import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { RequestError } from './payload';

export interface BodyLimits {
  /** Bytes of the body as it is used: after decompression. */
  maxBytes: number;
}

function tooLarge(limit: number, what = 'request body'): RequestError {
  return new RequestError(413, `${what} exceeds the limit of ${limit} bytes`);
}

/** Reads the raw body, refusing more than `limit` bytes (the declared length is checked first). */
export function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      if (!failed) {
        failed = true;
        reject(new RequestError(400, `could not read the request body: ${err.message}`));
      }
    });
  });
}

function inflate(fn: typeof zlib.gunzip, raw: Buffer, limit: number, name: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    // maxOutputLength bounds what a small compressed body may expand to (zip bombs).
    fn(raw, { maxOutputLength: limit }, (err, out) => {
      if (!err) return resolve(out);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        return reject(tooLarge(limit, 'decompressed request body'));
      }
      reject(new RequestError(400, `invalid ${name} body: ${err.message}`));
    });
  });
}

/**
 * The request body as bytes, decompressed per Content-Encoding (gzip,
 * deflate, identity). The compressed and the decompressed size are both bound
 * by `maxBytes`.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toString().trim().toLowerCase();
  if (
    encoding !== 'identity' &&
    encoding !== '' &&
    encoding !== 'gzip' &&
    encoding !== 'x-gzip' &&
    encoding !== 'deflate'
  ) {
    throw new RequestError(415, `unsupported Content-Encoding "${encoding}" (use gzip, deflate or none)`);
  }
  const raw = await readRaw(req, limits.maxBytes);
  if (encoding === 'gzip' || encoding === 'x-gzip') return inflate(zlib.gunzip, raw, limits.maxBytes, 'gzip');
  if (encoding === 'deflate') return inflate(zlib.inflate, raw, limits.maxBytes, 'deflate');
  return raw;
}
