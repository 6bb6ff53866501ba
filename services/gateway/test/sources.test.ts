import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { FileSourceResolver, parseSources, WorkspaceFileError } from '../src/sources';

const log = pino({ level: 'silent' });

describe('parseSources', () => {
  it('reads sources and ignores the other keys of the workspace', () => {
    const entries = parseSources(
      JSON.stringify({
        version: 1,
        destinations: [{ id: 'd' }],
        sources: [
          { id: 's1', name: 'Web', writeKey: 'wk1', enabled: true },
          { id: 's2', writeKey: 'wk2', enabled: false, type: 'ios' },
          { id: 's3', writeKey: 'wk3' },
        ],
      }),
    );
    expect(entries).toEqual([
      { id: 's1', name: 'Web', writeKey: 'wk1', enabled: true },
      { id: 's2', name: 's2', writeKey: 'wk2', enabled: false },
      { id: 's3', name: 's3', writeKey: 'wk3', enabled: true },
    ]);
  });
  it('rejects malformed documents with the reason', () => {
    expect(() => parseSources('{')).toThrow(WorkspaceFileError);
    expect(() => parseSources('{"sources":{}}')).toThrow('"sources" must be an array');
    expect(() => parseSources('{"sources":[{"id":"a"}]}')).toThrow('writeKey must be a non-empty string');
    expect(() => parseSources('{"sources":[{"id":"a","writeKey":"k"},{"id":"b","writeKey":"k"}]}')).toThrow(
      'writeKey is used twice',
    );
  });
});

describe('FileSourceResolver', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-sources-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const waitFor = async (cond: () => boolean, ms = 5000) => {
    const until = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > until) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('reloads write keys when the file changes, and keeps the last good ones on a bad edit', async () => {
    const file = path.join(dir, 'workspace.json');
    fs.writeFileSync(file, JSON.stringify({ sources: [{ id: 's1', name: 'A', writeKey: 'k1', enabled: true }] }));
    const r = await FileSourceResolver.open(file, log, 200);
    try {
      expect(r.resolve('k1')).toEqual({ id: 's1', name: 'A', enabled: true });
      expect(r.resolve('k2')).toBeUndefined();

      // Atomic replace (write + rename), as config management tools do.
      const tmp = path.join(dir, 'workspace.json.tmp');
      fs.writeFileSync(tmp, JSON.stringify({ sources: [{ id: 's2', name: 'B', writeKey: 'k2', enabled: false }] }));
      fs.renameSync(tmp, file);
      await waitFor(() => r.resolve('k2') !== undefined);
      expect(r.resolve('k1')).toBeUndefined();
      expect(r.resolve('k2')).toEqual({ id: 's2', name: 'B', enabled: false });

      fs.writeFileSync(file, '{ not json');
      await new Promise((res) => setTimeout(res, 500));
      expect(r.resolve('k2')).toBeDefined();

      fs.writeFileSync(file, JSON.stringify({ sources: [{ id: 's3', writeKey: 'k3' }] }));
      await waitFor(() => r.resolve('k3') !== undefined);
    } finally {
      await r.close();
    }
  });

  it('fails to open a bad file', async () => {
    const file = path.join(dir, 'bad.json');
    fs.writeFileSync(file, '[]');
    await expect(FileSourceResolver.open(file, log)).rejects.toThrow('must hold a JSON object');
  });
});
