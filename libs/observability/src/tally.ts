import type { Counter } from 'prom-client';

/**
 * Counts of one batch, added to their counters once per label set: a labelled `inc` per event
 * looks its series up each time, a measurable cost at tens of thousands of events per second.
 */
export class CounterTally {
  // Per counter, a level per label name and one per its value, in the order the call site lists
  // them: no key string is built per event (concatenating one and hashing it cost more than the
  // count itself).
  private readonly pending = new Map<Counter<string>, TallyNode>();

  add(counter: Counter<string>, labels: Record<string, string>, n = 1): void {
    let node = this.pending.get(counter);
    if (!node) {
      node = new Map();
      this.pending.set(counter, node);
    }
    for (const k in labels) {
      node = child(child(node, k), labels[k]);
    }
    const entry = node.get(LEAF) as TallyLeaf | undefined;
    if (entry) entry.n += n;
    else node.set(LEAF, { labels, n });
  }

  /** Adds what was counted to the counters and starts over. */
  flush(): void {
    for (const [counter, node] of this.pending) flushNode(counter, node);
    this.pending.clear();
  }
}

interface TallyLeaf {
  labels: Record<string, string>;
  n: number;
}
type TallyNode = Map<string | symbol, TallyNode | TallyLeaf>;
const LEAF = Symbol('leaf');

function child(node: TallyNode, key: string): TallyNode {
  let next = node.get(key) as TallyNode | undefined;
  if (!next) {
    next = new Map();
    node.set(key, next);
  }
  return next;
}

function flushNode(counter: Counter<string>, node: TallyNode): void {
  for (const [k, next] of node) {
    if (k === LEAF) {
      const leaf = next as TallyLeaf;
      counter.inc(leaf.labels, leaf.n);
    } else flushNode(counter, next as TallyNode);
  }
}
