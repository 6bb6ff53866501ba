import { createHash } from 'node:crypto';
import { BUILTIN_DESTINATION_TYPES, DestinationTypeInfo, normalizeIntegrationName } from './destination-types';
import type {
  Connection,
  Destination,
  HttpSource,
  Source,
  TrackingPlan,
  Transformation,
  TransformationLibrary,
  WorkspaceConfig,
} from './schema';

type DeepReadonly<T> = T extends (infer U)[]
  ? ReadonlyArray<DeepReadonly<U>>
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** A destination as the pipeline sees it: with its type's display name and lake flag resolved. */
export interface ResolvedDestination {
  readonly destination: DeepReadonly<Destination>;
  readonly displayName: string;
  /** Normalized names the `integrations` object may use for this destination: its name, type display name, aliases. */
  readonly integrationNames: readonly string[];
  readonly lake: boolean;
}

export interface ResolvedConnection {
  readonly connection: DeepReadonly<Connection>;
  readonly destination: ResolvedDestination;
  readonly transformation?: DeepReadonly<Transformation>;
}

/**
 * One immutable, validated version of the workspace with lookup indexes.
 * Services hold on to a snapshot for the duration of a batch so a reload in
 * the middle never mixes two configurations.
 */
export interface WorkspaceSnapshot {
  readonly config: DeepReadonly<WorkspaceConfig>;
  /** sha256 of the validated config; equal fingerprints mean equal workspaces. */
  readonly fingerprint: string;
  readonly loadedAt: number;
  readonly sourceById: ReadonlyMap<string, DeepReadonly<Source>>;
  readonly sourceByWriteKey: ReadonlyMap<string, DeepReadonly<HttpSource>>;
  readonly destinationById: ReadonlyMap<string, ResolvedDestination>;
  /** Enabled connections of each source, in config order. */
  readonly connectionsBySource: ReadonlyMap<string, readonly ResolvedConnection[]>;
  readonly transformationById: ReadonlyMap<string, DeepReadonly<Transformation>>;
  readonly libraryByName: ReadonlyMap<string, DeepReadonly<TransformationLibrary>>;
  readonly trackingPlanBySource: ReadonlyMap<string, DeepReadonly<TrackingPlan>>;
  readonly suppressedUserIds: ReadonlySet<string>;
  readonly suppressedAnonymousIds: ReadonlySet<string>;
}

export type { DeepReadonly };

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/** Builds the indexes of an already validated config (see parseWorkspace). */
export function buildSnapshot(
  config: WorkspaceConfig,
  opts: { destinationTypes?: Readonly<Record<string, DestinationTypeInfo>>; now?: number } = {},
): WorkspaceSnapshot {
  const types = { ...BUILTIN_DESTINATION_TYPES, ...(opts.destinationTypes ?? {}) };
  const frozen = deepFreeze(config) as DeepReadonly<WorkspaceConfig>;

  const sourceById = new Map(frozen.sources.map((s) => [s.id, s]));
  const sourceByWriteKey = new Map<string, DeepReadonly<HttpSource>>();
  for (const s of frozen.sources) if (s.type === 'http') sourceByWriteKey.set(s.writeKey, s);

  const destinationById = new Map<string, ResolvedDestination>();
  for (const d of frozen.destinations) {
    const info = types[d.type];
    const displayName = info?.displayName ?? d.type;
    const names = new Set([d.name, d.type, displayName, ...(info?.aliases ?? [])].map(normalizeIntegrationName));
    destinationById.set(d.id, {
      destination: d,
      displayName,
      integrationNames: [...names],
      lake: info?.lake ?? false,
    });
  }

  const transformationById = new Map(frozen.transformations.map((t) => [t.id, t]));
  const libraryByName = new Map(frozen.transformationLibraries.map((l) => [l.name, l]));

  const connectionsBySource = new Map<string, ResolvedConnection[]>();
  for (const c of frozen.connections) {
    const destination = destinationById.get(c.destinationId);
    if (!c.enabled || !destination) continue;
    const list = connectionsBySource.get(c.sourceId) ?? [];
    list.push({
      connection: c,
      destination,
      transformation: c.transformationId === undefined ? undefined : transformationById.get(c.transformationId),
    });
    connectionsBySource.set(c.sourceId, list);
  }

  const trackingPlanBySource = new Map<string, DeepReadonly<TrackingPlan>>();
  for (const plan of frozen.trackingPlans) for (const sid of plan.sourceIds) trackingPlanBySource.set(sid, plan);

  return {
    config: frozen,
    fingerprint: createHash('sha256').update(JSON.stringify(config)).digest('hex'),
    loadedAt: opts.now ?? Date.now(),
    sourceById,
    sourceByWriteKey,
    destinationById,
    connectionsBySource,
    transformationById,
    libraryByName,
    trackingPlanBySource,
    suppressedUserIds: new Set(frozen.suppressedUsers.userIds),
    suppressedAnonymousIds: new Set(frozen.suppressedUsers.anonymousIds),
  };
}
