import { createHash } from 'node:crypto';

/** An identifier as the warehouse tables name it: `anonymous_id`, `user_id`, `email`, ... */
export interface Identifier {
  type: string;
  value: string;
}

/** Two identifiers seen together in one call (the `sluice.identity.edges` record). */
export interface IdentityEdge {
  leftType: string;
  leftValue: string;
  rightType: string;
  rightValue: string;
  sourceId: string;
  messageId: string;
  observedAt: number;
}

/** A row of the mappings table: identifier → canonical id. */
export interface IdentityMapping {
  mergePropertyType: string;
  mergePropertyValue: string;
  canonicalId: string;
  updatedAt: number;
}

/** A row of the merge-rules table: the pair and the event that joined them. */
export interface MergeRule {
  id: string;
  mergeProperty1Type: string;
  mergeProperty1Value: string;
  mergeProperty2Type: string;
  mergeProperty2Value: string;
  sourceId: string;
  messageId: string;
  observedAt: number;
}

export interface EdgeEffect {
  /** Null when the pair was already known (no new rule). */
  rule: MergeRule | null;
  /** Mappings that are new or now point at another canonical id. */
  changedMappings: IdentityMapping[];
}

const keyOf = (id: Identifier) => `${id.type}\u0000${id.value}`;

/** A deterministic canonical id for a new group, from its first identifier. */
export function canonicalIdFor(first: Identifier): string {
  const h = createHash('sha256').update(keyOf(first)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function ruleId(a: Identifier, b: Identifier): string {
  const [x, y] = [keyOf(a), keyOf(b)].sort();
  return createHash('sha256').update(`${x}\u0001${y}`).digest('hex').slice(0, 32);
}

/**
 * Connected identifiers share one canonical id. A new pair joining two groups
 * re-points the smaller group to the larger group's id (ties: the smaller id
 * wins), so a merge rewrites as few mappings as possible.
 */
export class IdentityGraph {
  private readonly canonicalOf = new Map<string, string>();
  private readonly members = new Map<string, Set<string>>();
  private readonly rules = new Set<string>();

  get size(): number {
    return this.canonicalOf.size;
  }

  canonical(id: Identifier): string | undefined {
    return this.canonicalOf.get(keyOf(id));
  }

  /** Rebuilds state from the tables (after a restart or on another instance). */
  static fromTables(mappings: Iterable<IdentityMapping>, ruleIds: Iterable<string> = []): IdentityGraph {
    const g = new IdentityGraph();
    for (const m of mappings) {
      const key = keyOf({ type: m.mergePropertyType, value: m.mergePropertyValue });
      g.canonicalOf.set(key, m.canonicalId);
      let set = g.members.get(m.canonicalId);
      if (!set) g.members.set(m.canonicalId, (set = new Set()));
      set.add(key);
    }
    for (const r of ruleIds) g.rules.add(r);
    return g;
  }

  private adopt(key: string, canonicalId: string, at: number, out: IdentityMapping[]): void {
    this.canonicalOf.set(key, canonicalId);
    let set = this.members.get(canonicalId);
    if (!set) this.members.set(canonicalId, (set = new Set()));
    set.add(key);
    const sep = key.indexOf('\u0000');
    out.push({
      mergePropertyType: key.slice(0, sep),
      mergePropertyValue: key.slice(sep + 1),
      canonicalId,
      updatedAt: at,
    });
  }

  /** A single identifier seen alone (e.g. a track with only an anonymousId) gets its own id. */
  touch(id: Identifier, at: number): IdentityMapping[] {
    const out: IdentityMapping[] = [];
    const key = keyOf(id);
    if (!this.canonicalOf.has(key)) this.adopt(key, canonicalIdFor(id), at, out);
    return out;
  }

  applyEdge(edge: IdentityEdge): EdgeEffect {
    const a: Identifier = { type: edge.leftType, value: edge.leftValue };
    const b: Identifier = { type: edge.rightType, value: edge.rightValue };
    const changed: IdentityMapping[] = [];
    const at = edge.observedAt;
    const id = ruleId(a, b);
    const rule: MergeRule | null = this.rules.has(id)
      ? null
      : {
          id,
          mergeProperty1Type: a.type,
          mergeProperty1Value: a.value,
          mergeProperty2Type: b.type,
          mergeProperty2Value: b.value,
          sourceId: edge.sourceId,
          messageId: edge.messageId,
          observedAt: at,
        };
    this.rules.add(id);
    const ka = keyOf(a);
    const kb = keyOf(b);
    const ca = this.canonicalOf.get(ka);
    const cb = this.canonicalOf.get(kb);
    if (ca === undefined && cb === undefined) {
      const c = canonicalIdFor(a);
      this.adopt(ka, c, at, changed);
      if (kb !== ka) this.adopt(kb, c, at, changed);
    } else if (ca === undefined) {
      this.adopt(ka, cb!, at, changed);
    } else if (cb === undefined) {
      this.adopt(kb, ca, at, changed);
    } else if (ca !== cb) {
      const sa = this.members.get(ca)!.size;
      const sb = this.members.get(cb)!.size;
      const [winner, loser] = sa > sb || (sa === sb && ca < cb) ? [ca, cb] : [cb, ca];
      const moving = this.members.get(loser)!;
      this.members.delete(loser);
      for (const key of moving) this.adopt(key, winner, at, changed);
    }
    return { rule, changedMappings: changed };
  }

  /** Every mapping, for a full rewrite or a check. */
  *mappings(): Iterable<{ key: Identifier; canonicalId: string }> {
    for (const [key, canonicalId] of this.canonicalOf) {
      const sep = key.indexOf('\u0000');
      yield { key: { type: key.slice(0, sep), value: key.slice(sep + 1) }, canonicalId };
    }
  }
}
