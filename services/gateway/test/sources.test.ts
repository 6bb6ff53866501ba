import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { StaticSourceResolver, WorkspaceSourceResolver } from '../src/sources';

const log = pino({ level: 'silent' });

const workspace = (sources: object[]) =>
  JSON.stringify({
    version: 1,
    sources,
    destinations: [{ id: 'd', name: 'D', type: 'webhook', config: { url: 'http://127.0.0.1:1/' } }],
  });

describe('StaticSourceResolver', () => {
  it('answers by write key', () => {
    const r = new StaticSourceResolver([{ id: 's1', name: 'A', writeKey: 'write-key-1', enabled: false }]);
    expect(r.resolve('write-key-1')).toEqual({ id: 's1', name: 'A', enabled: false });
    expect(r.resolve('other')).toBeUndefined();
  });
});

describe('WorkspaceSourceResolver', () => {
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

  it('reloads write keys when the workspace changes, and keeps the last good ones on a bad edit', async () => {
    const file = path.join(dir, 'workspace.json');
    fs.writeFileSync(file, workspace([{ id: 's1', name: 'A', type: 'http', writeKey: 'write-key-1' }]));
    const r = await WorkspaceSourceResolver.open(file, log, 100);
    try {
      expect(r.resolve('write-key-1')).toEqual({ id: 's1', name: 'A', enabled: true });
      expect(r.resolve('write-key-2')).toBeUndefined();
      fs.writeFileSync(
        file,
        workspace([
          { id: 's1', name: 'A', type: 'http', writeKey: 'write-key-1', enabled: false },
          { id: 's2', name: 'B', type: 'http', writeKey: 'write-key-2' },
        ]),
      );
      await waitFor(() => r.resolve('write-key-2') !== undefined);
      expect(r.resolve('write-key-1')?.enabled).toBe(false);
      fs.writeFileSync(file, '{ not json');
      await new Promise((res) => setTimeout(res, 400));
      expect(r.resolve('write-key-2')).toEqual({ id: 's2', name: 'B', enabled: true });
    } finally {
      await r.close();
    }
  });

  it('fails to open an invalid workspace, naming the bad entry', async () => {
    const file = path.join(dir, 'workspace.json');
    fs.writeFileSync(file, workspace([{ id: 's1', name: 'A', type: 'http', writeKey: 'short' }]));
    await expect(WorkspaceSourceResolver.open(file, log)).rejects.toThrow(/sources\[0\]\.writeKey/);
  });
});
