import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@sluice/config';
import { createLogger } from '@sluice/observability';
import { loadWorkspaceDestinations } from '../src/workspace';

const log = createLogger('router-test', 'silent');

function write(doc: unknown): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'router-ws-'));
  const file = path.join(dir, 'workspace.json');
  fs.writeFileSync(file, JSON.stringify(doc));
  return file;
}

describe('loadWorkspaceDestinations (through @sluice/workspace)', () => {
  it('reads every destination, redis included', async () => {
    const file = write({
      sources: [{ id: 'web', name: 'Web', type: 'http', writeKey: 'wk-12345678' }],
      destinations: [
        { id: 'hook', name: 'Hook', type: 'webhook', config: { url: 'http://127.0.0.1:1/h' } },
        { id: 'cache', name: 'Cache', type: 'redis', enabled: false, config: { url: 'redis://127.0.0.1:6379' } },
        { id: 'amp', name: 'Amp', type: 'amplitude', config: { apiKey: 'k' } },
      ],
    });
    const dests = await loadWorkspaceDestinations(file, log);
    expect(dests.map((d) => [d.id, d.type, d.enabled])).toEqual([
      ['hook', 'webhook', true],
      ['cache', 'redis', false],
      ['amp', 'amplitude', true],
    ]);
    expect(dests[0]!.config.url).toBe('http://127.0.0.1:1/h');
  });

  it('reports an invalid workspace as a ConfigError', async () => {
    const file = write({ destinations: [{ id: 'x', name: 'X', type: 'no-such-type' }] });
    await expect(loadWorkspaceDestinations(file, log)).rejects.toThrow(ConfigError);
  });
});
