import path from 'node:path';
import type { IdentityEdge } from '@sluice/identity';
import { LoaderProcess, suffix, TableInfo, tempLake, TestProducer, waitForLake } from './support/harness';

jest.setTimeout(300000);

const running: LoaderProcess[] = [];
let prod: TestProducer | undefined;
afterEach(async () => {
  for (const p of running.splice(0)) if (p.running) await p.kill9();
  await prod?.close();
});

function edge(leftType: string, leftValue: string, rightType: string, rightValue: string, i: number): IdentityEdge {
  return {
    leftType,
    leftValue,
    rightType,
    rightValue,
    sourceId: 'src-it',
    messageId: `m-${i}`,
    observedAt: Date.now() + i,
  };
}

type Mapping = { merge_property_type: string; merge_property_value: string; canonical_id: string };

function mappingsOf(r: Record<string, TableInfo>): Map<string, string> {
  const out = new Map<string, string>();
  for (const row of (r.identity_mappings?.all_rows ?? []) as Mapping[])
    out.set(`${row.merge_property_type}:${row.merge_property_value}`, row.canonical_id);
  return out;
}

/** Each group of identifiers shares one canonical id, groups differ, one row per identifier. */
function stitched(r: Record<string, TableInfo>, groups: string[][]): boolean {
  const m = mappingsOf(r);
  const info = r.identity_mappings;
  if (!info || info.missing || info.rows !== groups.flat().length || info.distinct_ids !== info.rows) return false;
  const ids = groups.map((g) => new Set(g.map((k) => m.get(k))));
  if (ids.some((s) => s.size !== 1 || s.has(undefined))) return false;
  return new Set(ids.map((s) => [...s][0])).size === groups.length;
}

const read = (lake: string) => ({
  root: path.join(lake, 'delta'),
  tables: ['identity_mappings', 'identity_merge_rules'],
  rows_of: ['identity_mappings'],
});

describe('identity stitching on real Kafka', () => {
  test('edges → mappings: connected ids share one canonical id; kill -9 and restart keep it; several instances agree', async () => {
    const run = suffix();
    const prefix = `it-${run}.`;
    const lake = tempLake();
    prod = new TestProducer(prefix);
    await prod.connect();
    const env = { SLUICE_TOPIC_PREFIX: prefix, LOADER_GROUP_ID: `g-${run}`, LAKE_URL: lake, LOADER_FLUSH_MS: '300' };
    const a = new LoaderProcess(env);
    running.push(a);
    await a.start();

    await prod.sendEdges([
      edge('anonymous_id', 'a1', 'user_id', 'u1', 1),
      edge('anonymous_id', 'a2', 'user_id', 'u1', 2),
      edge('anonymous_id', 'a3', 'user_id', 'u2', 3),
      edge('anonymous_id', 'a4', 'user_id', 'u4', 4),
    ]);
    await waitForLake(read(lake), (r) =>
      stitched(r, [
        ['anonymous_id:a1', 'anonymous_id:a2', 'user_id:u1'],
        ['anonymous_id:a3', 'user_id:u2'],
        ['anonymous_id:a4', 'user_id:u4'],
      ]),
    );
    // An alias joins the two users' groups: the smaller group is re-pointed.
    await prod.sendEdges([edge('user_id', 'u2', 'user_id', 'u1', 5)]);
    const joined = [
      ['anonymous_id:a1', 'anonymous_id:a2', 'user_id:u1', 'anonymous_id:a3', 'user_id:u2'],
      ['anonymous_id:a4', 'user_id:u4'],
    ];
    const before = await waitForLake(read(lake), (r) => stitched(r, joined));
    const canonical = mappingsOf(before).get('user_id:u1');
    expect(before.identity_merge_rules!.rows).toBe(5);

    // kill -9, restart: the graph is rebuilt from the tables; a new edge to the group keeps its id.
    await a.kill9();
    const b = new LoaderProcess(env);
    running.push(b);
    await b.start();
    await prod.sendEdges([edge('anonymous_id', 'a5', 'user_id', 'u2', 6)]);
    joined[0]!.push('anonymous_id:a5');
    const after = await waitForLake(read(lake), (r) => stitched(r, joined));
    expect(mappingsOf(after).get('anonymous_id:a5')).toBe(canonical);

    // Two instances share the 12 edge partitions: commits race on the mappings table.
    const c = new LoaderProcess(env);
    running.push(c);
    await c.start();
    const chains: string[][] = [];
    const edges: IdentityEdge[] = [];
    for (let g = 0; g < 20; g++) {
      const chain = [`user_id:x${g}`];
      for (let k = 0; k < 6; k++) {
        edges.push(edge('anonymous_id', `x${g}-${k}`, 'user_id', `x${g}`, 100 + g * 10 + k));
        chain.push(`anonymous_id:x${g}-${k}`);
      }
      chains.push(chain);
    }
    // Join every second pair of chains with an alias.
    for (let g = 0; g < 20; g += 2) edges.push(edge('user_id', `x${g + 1}`, 'user_id', `x${g}`, 400 + g));
    const expected = [...joined, ...Array.from({ length: 10 }, (_, i) => [...chains[2 * i]!, ...chains[2 * i + 1]!])];
    for (let i = 0; i < edges.length; i += 10) await prod.sendEdges(edges.slice(i, i + 10));
    await waitForLake(read(lake), (r) => stitched(r, expected), 120000);
    expect(await b.terminate()).toBe(0);
    expect(await c.terminate()).toBe(0);
  });
});
