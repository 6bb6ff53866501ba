import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ObjectStore, ObjectStoreError, PutIfAbsentResult } from './types';

const TMP_PREFIX = '.tmp-';

function errno(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error
    ? String((error as { code: unknown }).code)
    : undefined;
}

/**
 * A local folder as an object store. Writes go to a temporary file first;
 * `put` renames it over the key, `putIfAbsent` hard-links it to the key, which
 * fails with EEXIST when the key exists, so concurrent writers (threads or
 * processes on one file system) arbitrate atomically.
 */
export class LocalFolderStore implements ObjectStore {
  readonly url: string;
  private readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.url = pathToFileURL(this.root).href;
  }

  private file(key: string): string {
    const normalized = path.posix.normalize(key);
    if (normalized.startsWith('../') || normalized === '..' || path.posix.isAbsolute(normalized)) {
      throw new ObjectStoreError(`key escapes the store root: ${key}`, false);
    }
    return path.join(this.root, ...normalized.split('/'));
  }

  private async writeTemp(target: string, bytes: Uint8Array): Promise<string> {
    const dir = path.dirname(target);
    await fs.mkdir(dir, { recursive: true });
    const tmp = path.join(dir, `${TMP_PREFIX}${randomBytes(8).toString('hex')}`);
    await fs.writeFile(tmp, bytes, { flag: 'wx' });
    return tmp;
  }

  async putIfAbsent(key: string, bytes: Uint8Array): Promise<PutIfAbsentResult> {
    const target = this.file(key);
    const tmp = await this.writeTemp(target, bytes);
    try {
      await fs.link(tmp, target);
      return 'created';
    } catch (error) {
      if (errno(error) === 'EEXIST') return 'exists';
      throw new ObjectStoreError(`putIfAbsent ${key} in ${this.url} failed`, true, { cause: error });
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.file(key);
    const tmp = await this.writeTemp(target, bytes);
    try {
      await fs.rename(tmp, target);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw new ObjectStoreError(`put ${key} in ${this.url} failed`, true, { cause: error });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const buffer = await fs.readFile(this.file(key));
      return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    } catch (error) {
      if (errno(error) === 'ENOENT' || errno(error) === 'EISDIR') return undefined;
      throw new ObjectStoreError(`get ${key} from ${this.url} failed`, true, { cause: error });
    }
  }

  async list(prefix: string): Promise<string[]> {
    // Walk only the folder the prefix names, then filter by the rest of it.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (error) {
        if (errno(error) === 'ENOENT' || errno(error) === 'ENOTDIR') return;
        throw new ObjectStoreError(`list ${prefix} in ${this.url} failed`, true, { cause: error });
      }
      for (const entry of entries) {
        if (entry.name.startsWith(TMP_PREFIX)) continue;
        const key = keyPrefix === '' ? entry.name : `${keyPrefix}/${entry.name}`;
        if (entry.isDirectory()) {
          if (key.startsWith(prefix) || prefix.startsWith(`${key}/`)) await walk(path.join(dir, entry.name), key);
        } else if (key.startsWith(prefix)) out.push(key);
      }
    };
    await walk(dirKey === '' ? this.root : this.file(dirKey), dirKey);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.file(key), { force: true });
  }
}
