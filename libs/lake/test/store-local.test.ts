import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LocalFolderStore } from '../src';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

describe('LocalFolderStore', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-store-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('puts, gets, lists and deletes keys', async () => {
    const store = new LocalFolderStore(dir);
    await store.put('t/_delta_log/00.json', bytes('a'));
    await store.put('t/data/x.parquet', bytes('b'));
    await store.put('u/y', bytes('c'));
    await store.put('t/data/x.parquet', bytes('b2'));
    expect(text(await store.get('t/data/x.parquet'))).toBe('b2');
    expect(await store.get('missing')).toBeUndefined();
    expect(await store.list('t/')).toEqual(['t/_delta_log/00.json', 't/data/x.parquet']);
    expect(await store.list('t/_delta')).toEqual(['t/_delta_log/00.json']);
    expect(await store.list('')).toEqual(['t/_delta_log/00.json', 't/data/x.parquet', 'u/y']);
    expect(await store.list('nope/')).toEqual([]);
    await store.delete('u/y');
    await store.delete('u/y');
    expect(await store.get('u/y')).toBeUndefined();
  });

  it('lets exactly one of many concurrent putIfAbsent calls create a key', async () => {
    const store = new LocalFolderStore(dir);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.putIfAbsent('k/0.json', bytes(`w${i}`))),
    );
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    const winner = results.indexOf('created');
    expect(text(await store.get('k/0.json'))).toBe(`w${winner}`);
    expect(fs.readdirSync(path.join(dir, 'k'))).toEqual(['0.json']);
  });

  it('refuses keys that leave the root', async () => {
    const store = new LocalFolderStore(dir);
    await expect(store.put('../escape', bytes('x'))).rejects.toThrow(/escapes/);
  });
});
