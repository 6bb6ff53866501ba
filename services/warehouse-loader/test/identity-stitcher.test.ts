import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { IdentityEdge } from '@sluice/identity';
import { LocalFolderStore } from '@sluice/lake';
import { createLogger } from '@sluice/observability';
import { IdentityStitcher } from '../src/identity-stitcher';

const log = createLogger('test', 'silent');
const e = (l: string, r: string, i: number): IdentityEdge => ({
  leftType: l.startsWith('a') ? 'anonymous_id' : 'user_id',
  leftValue: l,
  rightType: 'user_id',
  rightValue: r,
  sourceId: 's',
  messageId: `m${i}`,
  observedAt: 1000 + i,
});

function lake() {
  return new LocalFolderStore(fs.mkdtempSync(path.join(os.tmpdir(), 'stitch-')));
}

describe('IdentityStitcher', () => {
  test('applies edges, and a new instance rebuilt from the tables agrees', async () => {
    const store = lake();
    const s1 = new IdentityStitcher(store, 'delta', 'g:identity-graph', undefined, log);
    await s1.load();
    const out = await s1.apply([e('a1', 'u1', 1), e('a2', 'u1', 2), e('a3', 'u2', 3)]);
    expect(out).toEqual({ rules: 3, mappings: 5, conflicts: 0 });
    const s2 = new IdentityStitcher(store, 'delta', 'g:identity-graph', undefined, log);
    await s2.load();
    const c = (s: IdentityStitcher, v: string, t = 'anonymous_id') => s.canonicalIds.canonical({ type: t, value: v });
    expect(c(s2, 'a1')).toBe(c(s1, 'a1'));
    expect(c(s2, 'a1')).toBe(c(s2, 'a2'));
    expect(c(s2, 'a3')).not.toBe(c(s2, 'a1'));
    // Replaying the same edges changes nothing.
    expect(await s2.apply([e('a1', 'u1', 1)])).toEqual({ rules: 0, mappings: 0, conflicts: 0 });
  });

  test('two instances with stale graphs: the loser reloads and re-applies, so connected ids end with one id', async () => {
    const store = lake();
    const a = new IdentityStitcher(store, 'delta', 'g:identity-graph', undefined, log);
    const b = new IdentityStitcher(store, 'delta', 'g:identity-graph', undefined, log);
    await a.load();
    await b.load();
    await a.apply([e('a1', 'u1', 1)]);
    // b has not seen a's commit: its view says u1 is unknown.
    const out = await b.apply([e('a2', 'u1', 2)]);
    expect(out.conflicts).toBe(1);
    const fresh = new IdentityStitcher(store, 'delta', 'g:identity-graph', undefined, log);
    await fresh.load();
    const id = (v: string, t: string) => fresh.canonicalIds.canonical({ type: t, value: v });
    expect(id('a2', 'anonymous_id')).toBe(id('a1', 'anonymous_id'));
    expect(id('u1', 'user_id')).toBe(id('a1', 'anonymous_id'));
    expect(fresh.canonicalIds.size).toBe(3);
  });
});
