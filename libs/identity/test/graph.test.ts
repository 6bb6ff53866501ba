import { canonicalIdFor, IdentityEdge, IdentityGraph } from '../src';

/** A seeded generator, so a failing case can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The reference: a plain union-find over all edges at once. */
function referenceGroups(ids: string[], edges: [string, string][]): Map<string, string> {
  const parent = new Map(ids.map((i) => [i, i]));
  const find = (x: string): string => {
    while (parent.get(x) !== x) {
      parent.set(x, parent.get(parent.get(x)!)!);
      x = parent.get(x)!;
    }
    return x;
  };
  for (const [a, b] of edges) parent.set(find(a), find(b));
  return new Map(ids.map((i) => [i, find(i)]));
}

/** Two labelings describe the same grouping iff they induce the same partition. */
function samePartition(a: Map<string, string>, b: Map<string, string>): boolean {
  const ab = new Map<string, string>();
  const ba = new Map<string, string>();
  for (const [k, la] of a) {
    const lb = b.get(k);
    if (lb === undefined) return false;
    if ((ab.get(la) ?? lb) !== lb || (ba.get(lb) ?? la) !== la) return false;
    ab.set(la, lb);
    ba.set(lb, la);
  }
  return a.size === b.size;
}

const edge = (a: string, b: string, i: number): IdentityEdge => ({
  leftType: a.split(':')[0],
  leftValue: a.split(':')[1],
  rightType: b.split(':')[0],
  rightValue: b.split(':')[1],
  sourceId: 's',
  messageId: `m${i}`,
  observedAt: i,
});

describe('IdentityGraph', () => {
  it.each([1, 2, 3])(
    'groups thousands of identifiers like a plain union-find, merges in random order (seed %i)',
    (seed) => {
      const rand = rng(seed);
      const ids = Array.from({ length: 4000 }, (_, i) => (i % 2 ? `anonymous_id:a${i}` : `user_id:u${i}`));
      const edges: [string, string][] = [];
      for (let i = 0; i < 3000; i++) {
        edges.push([ids[Math.floor(rand() * ids.length)], ids[Math.floor(rand() * ids.length)]]);
      }
      const g = new IdentityGraph();
      edges.forEach(([a, b], i) => g.applyEdge(edge(a, b, i)));
      for (const id of ids) g.touch({ type: id.split(':')[0], value: id.split(':')[1] }, 0);
      const ours = new Map([...g.mappings()].map((m) => [`${m.key.type}:${m.key.value}`, m.canonicalId]));
      expect(samePartition(ours, referenceGroups(ids, edges))).toBe(true);

      // The grouping does not depend on the order the edges arrive in.
      const shuffled = [...edges].sort(() => rand() - 0.5);
      const g2 = new IdentityGraph();
      shuffled.forEach(([a, b], i) => g2.applyEdge(edge(a, b, i)));
      for (const id of ids) g2.touch({ type: id.split(':')[0], value: id.split(':')[1] }, 0);
      const theirs = new Map([...g2.mappings()].map((m) => [`${m.key.type}:${m.key.value}`, m.canonicalId]));
      expect(samePartition(ours, theirs)).toBe(true);
    },
  );

  it('re-points the smaller group when two groups merge', () => {
    const g = new IdentityGraph();
    g.applyEdge(edge('user_id:big', 'anonymous_id:a1', 1));
    g.applyEdge(edge('user_id:big', 'anonymous_id:a2', 2));
    g.applyEdge(edge('user_id:small', 'anonymous_id:b1', 3));
    const bigId = g.canonical({ type: 'user_id', value: 'big' });
    const effect = g.applyEdge(edge('anonymous_id:a2', 'anonymous_id:b1', 4));
    expect(effect.changedMappings.map((m) => m.mergePropertyValue).sort()).toEqual(['b1', 'small']);
    expect(effect.changedMappings.every((m) => m.canonicalId === bigId)).toBe(true);
    expect(effect.rule).not.toBeNull();
  });

  it('records a pair once, and rebuilds the same state from its tables', () => {
    const g = new IdentityGraph();
    const first = g.applyEdge(edge('anonymous_id:x', 'user_id:y', 1));
    expect(first.rule?.messageId).toBe('m1');
    expect(g.applyEdge(edge('user_id:y', 'anonymous_id:x', 2)).rule).toBeNull();
    const rows = [...g.mappings()].map((m) => ({
      mergePropertyType: m.key.type,
      mergePropertyValue: m.key.value,
      canonicalId: m.canonicalId,
      updatedAt: 0,
    }));
    const rebuilt = IdentityGraph.fromTables(rows, [first.rule!.id]);
    expect(rebuilt.canonical({ type: 'user_id', value: 'y' })).toBe(g.canonical({ type: 'user_id', value: 'y' }));
    expect(rebuilt.applyEdge(edge('anonymous_id:x', 'user_id:y', 3)).rule).toBeNull();
    expect(rebuilt.applyEdge(edge('anonymous_id:x', 'user_id:y', 3)).changedMappings).toEqual([]);
  });

  it('names a new group deterministically', () => {
    expect(canonicalIdFor({ type: 'user_id', value: 'u' })).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(canonicalIdFor({ type: 'user_id', value: 'u' })).toBe(canonicalIdFor({ type: 'user_id', value: 'u' }));
  });
});
