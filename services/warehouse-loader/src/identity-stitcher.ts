import { randomUUID } from 'node:crypto';
import { IdentityEdge, IdentityGraph, IdentityMapping, MergeRule } from '@sluice/identity';
import { DeltaTable, ObjectStore, readParquet, readTableState, Row, TableSchema } from '@sluice/lake';
import type { Logger } from '@sluice/observability';
import type { LoaderMetrics } from './metrics';

export const MAPPINGS_TABLE = 'identity_mappings';
export const MERGE_RULES_TABLE = 'identity_merge_rules';

const MAPPINGS_SCHEMA: TableSchema = {
  id: 'string',
  merge_property_type: 'string',
  merge_property_value: 'string',
  canonical_id: 'string',
  updated_at: 'timestamp',
};

const RULES_SCHEMA: TableSchema = {
  id: 'string',
  merge_property_1_type: 'string',
  merge_property_1_value: 'string',
  merge_property_2_type: 'string',
  merge_property_2_value: 'string',
  source_id: 'string',
  message_id: 'string',
  observed_at: 'timestamp',
};

/** Key of a mappings row: one row per identifier. */
export function mappingKey(type: string, value: string): string {
  return `${type}:${value}`;
}

export function mappingRow(m: IdentityMapping, updatedAtMs: number): Row {
  return {
    id: mappingKey(m.mergePropertyType, m.mergePropertyValue),
    merge_property_type: m.mergePropertyType,
    merge_property_value: m.mergePropertyValue,
    canonical_id: m.canonicalId,
    updated_at: new Date(updatedAtMs).toISOString(),
  };
}

export function ruleRow(r: MergeRule): Row {
  return {
    id: r.id,
    merge_property_1_type: r.mergeProperty1Type,
    merge_property_1_value: r.mergeProperty1Value,
    merge_property_2_type: r.mergeProperty2Type,
    merge_property_2_value: r.mergeProperty2Value,
    source_id: r.sourceId,
    message_id: r.messageId,
    observed_at: new Date(r.observedAt).toISOString(),
  };
}

export interface ApplyOutcome {
  rules: number;
  mappings: number;
  /** Commits lost to another instance (graph reloaded and edges re-applied). */
  conflicts: number;
}

/**
 * Identity stitching over two Delta tables. The mappings table is the
 * authority: every commit that changes mappings carries the txn
 * (appId = `<group>:identity-graph`, version = the version this graph was
 * built from + 1), so it succeeds only if no other instance committed since
 * (put-if-absent on the log + the txn check). On a lost race the graph is
 * rebuilt from the tables and the edges are applied again (docs/decisions/0701).
 */
export class IdentityStitcher {
  private graph = new IdentityGraph();
  private graphVersion = 0;
  private lastUpdatedMs = 0;
  private readonly mappings: DeltaTable;
  private readonly rules: DeltaTable;
  private readonly rulesAppId = `identity-rules:${randomUUID()}`;
  private rulesVersion = 0;

  constructor(
    private readonly store: ObjectStore,
    private readonly root: string,
    private readonly appId: string,
    private readonly metrics: LoaderMetrics | undefined,
    private readonly log: Logger,
  ) {
    this.mappings = new DeltaTable(store, this.path(MAPPINGS_TABLE), {
      name: MAPPINGS_TABLE,
      initialSchema: MAPPINGS_SCHEMA,
      fixedTypes: MAPPINGS_SCHEMA,
      merge: { key: 'id', orderBy: 'updated_at' },
    });
    this.rules = new DeltaTable(store, this.path(MERGE_RULES_TABLE), {
      name: MERGE_RULES_TABLE,
      initialSchema: RULES_SCHEMA,
      fixedTypes: RULES_SCHEMA,
      merge: { key: 'id', orderBy: 'observed_at' },
    });
  }

  private path(table: string): string {
    return this.root ? `${this.root}/${table}` : table;
  }

  get canonicalIds(): IdentityGraph {
    return this.graph;
  }

  private async readRows(table: string): Promise<{ rows: Row[]; txns: Map<string, number> }> {
    const path = this.path(table);
    const state = await readTableState(this.store, path);
    if (state.version < 0) return { rows: [], txns: new Map() };
    const rows: Row[] = [];
    for (const add of state.files.values()) {
      const bytes = await this.store.get(`${path}/${decodeURIComponent(add.path)}`);
      if (!bytes) throw Object.assign(new Error(`${path}: data file ${add.path} is missing`), { retriable: true });
      rows.push(...(await readParquet(bytes)));
    }
    return { rows, txns: state.txns };
  }

  /** Rebuilds the graph from the tables (start-up, and after a lost race). */
  async load(): Promise<void> {
    const [mappings, rules] = await Promise.all([this.readRows(MAPPINGS_TABLE), this.readRows(MERGE_RULES_TABLE)]);
    const list: IdentityMapping[] = [];
    for (const r of mappings.rows) {
      const updatedAt = Date.parse(String(r.updated_at));
      if (updatedAt > this.lastUpdatedMs) this.lastUpdatedMs = updatedAt;
      list.push({
        mergePropertyType: String(r.merge_property_type),
        mergePropertyValue: String(r.merge_property_value),
        canonicalId: String(r.canonical_id),
        updatedAt,
      });
    }
    this.graph = IdentityGraph.fromTables(
      list,
      rules.rows.map((r) => String(r.id)),
    );
    this.graphVersion = mappings.txns.get(this.appId) ?? 0;
    this.log.info({ identifiers: this.graph.size, version: this.graphVersion }, 'identity graph loaded');
  }

  /** Strictly increasing load time, so a later re-pointing always wins the merge. */
  private nextUpdatedAt(): number {
    this.lastUpdatedMs = Math.max(Date.now(), this.lastUpdatedMs + 1);
    return this.lastUpdatedMs;
  }

  /** Applies edges and commits the new rules and changed mappings. Throws when the lake fails (retry the edges). */
  async apply(edges: readonly IdentityEdge[]): Promise<ApplyOutcome> {
    let conflicts = 0;
    for (let attempt = 1; attempt <= 50; attempt++) {
      const changed = new Map<string, IdentityMapping>();
      const rules: MergeRule[] = [];
      for (const edge of edges) {
        const effect = this.graph.applyEdge(edge);
        if (effect.rule) rules.push(effect.rule);
        for (const m of effect.changedMappings) changed.set(mappingKey(m.mergePropertyType, m.mergePropertyValue), m);
      }
      if (changed.size > 0) {
        const at = this.nextUpdatedAt();
        const version = this.graphVersion + 1;
        const outcome = await this.mappings.commitBatch({
          appId: this.appId,
          version,
          rows: [...changed.values()].map((m) => mappingRow(m, at)),
        });
        if (outcome.status === 'failed') {
          await this.load(); // the in-memory graph holds uncommitted edges: drop them
          throw Object.assign(new Error(`identity mappings commit failed: ${outcome.error.message}`), {
            retriable: outcome.retriable,
          });
        }
        if (outcome.status === 'skipped') {
          conflicts++;
          this.metrics?.identityConflicts.inc();
          await this.load();
          continue;
        }
        this.graphVersion = version;
      }
      if (rules.length > 0) {
        // Rules are keyed by the pair (merge on id): writing one twice is harmless.
        const outcome = await this.rules.commitBatch({
          appId: this.rulesAppId,
          version: ++this.rulesVersion,
          rows: rules.map(ruleRow),
        });
        if (outcome.status === 'failed') {
          await this.load(); // its rules are not in the table: forget them so a retry writes them
          throw Object.assign(new Error(`identity merge rules commit failed: ${outcome.error.message}`), {
            retriable: outcome.retriable,
          });
        }
      }
      return { rules: rules.length, mappings: changed.size, conflicts };
    }
    throw Object.assign(new Error('identity mappings: no commit after 50 attempts (contention)'), { retriable: true });
  }
}
