import fs from 'node:fs';
import { ConfigError, z } from '@sluice/config';
import { DeliverySettings, deliverySettingsSchema } from '@sluice/delivery';
import {
  BUILTIN_DESTINATION_TYPES,
  WorkspaceStore,
  type DestinationTypeInfo,
  type WorkspaceLogger,
  type WorkspaceSnapshot,
} from '@sluice/workspace';

/** A destination as the workspace file declares it; other keys are ignored. */
export const destinationSchema = z.object({
  id: z.string().regex(/^[A-Za-z0-9._-]+$/, 'use letters, digits, . _ -'),
  type: z.string().min(1),
  name: z.string().default(''),
  enabled: z.boolean().default(true),
  config: z.record(z.unknown()).default({}),
});
export type DestinationSpec = z.infer<typeof destinationSchema>;

const workspaceSchema = z.object({ destinations: z.array(destinationSchema).default([]) });

export function parseWorkspace(json: unknown): DestinationSpec[] {
  const parsed = workspaceSchema.safeParse(json);
  if (!parsed.success) {
    throw new ConfigError(
      'router',
      parsed.error.issues.map((i) => `workspace.${i.path.join('.')}: ${i.message}`),
    );
  }
  return parsed.data.destinations;
}

export function loadWorkspace(file: string): DestinationSpec[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('router', [`WORKSPACE_FILE ${file}: ${(err as Error).message}`]);
  }
  try {
    return parseWorkspace(JSON.parse(text));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError('router', [`WORKSPACE_FILE ${file}: ${(err as Error).message}`]);
  }
}

/**
 * Destination types the router delivers that the workspace's built-in list
 * lacks (its settings are checked by `@sluice/destinations` when the router
 * configures the destination).
 */
export const ROUTER_DESTINATION_TYPES: Readonly<Record<string, DestinationTypeInfo>> = {
  redis: { displayName: 'Redis', aliases: ['REDIS'], lake: false, configSchema: z.object({}).passthrough() },
};

/** Opens the workspace through `@sluice/workspace` (JSON or YAML, validated, reloaded when the file changes). */
export async function openWorkspace(
  file: string,
  log: WorkspaceLogger,
  opts: { pollIntervalMs?: number } = {},
): Promise<WorkspaceStore> {
  const missing = Object.fromEntries(
    Object.entries(ROUTER_DESTINATION_TYPES).filter(([type]) => !(type in BUILTIN_DESTINATION_TYPES)),
  );
  try {
    return await WorkspaceStore.open(file, { log, destinationTypes: missing, pollIntervalMs: opts.pollIntervalMs });
  } catch (err) {
    const problems = (err as { problems?: string[] }).problems;
    throw new ConfigError(
      'router',
      problems ? problems.map((p) => `WORKSPACE_FILE ${file}: ${p}`) : [(err as Error).message],
    );
  }
}

/** The router's destinations of a snapshot: every non-lake destination (lakes are the warehouse-loader's). */
export function destinationsOf(snapshot: WorkspaceSnapshot): DestinationSpec[] {
  return [...snapshot.destinationById.values()]
    .filter((resolved) => !resolved.lake)
    .map(({ destination: d }) => ({
      id: d.id,
      type: d.type,
      name: d.name,
      enabled: d.enabled,
      config: JSON.parse(JSON.stringify(d.config)) as Record<string, unknown>,
    }));
}

/** The workspace's destinations, read once (tools and tests; the service follows changes, see `followWorkspace`). */
export async function loadWorkspaceDestinations(file: string, log: WorkspaceLogger): Promise<DestinationSpec[]> {
  const store = await openWorkspace(file, log);
  try {
    return destinationsOf(store.current());
  } finally {
    store.close();
  }
}

/** JSON with object keys sorted, so a reordered file is not a change. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Whether two specs of one destination deliver the same way (its name alone changing needs no restart). */
export function sameDelivery(a: DestinationSpec, b: DestinationSpec): boolean {
  return a.type === b.type && canonical(a.config) === canonical(b.config);
}

/** The enabled destinations to run, optionally narrowed to `only`. */
export function selectDestinations(all: DestinationSpec[], only?: string[]): DestinationSpec[] {
  const ids = new Set(all.map((d) => d.id));
  const unknown = (only ?? []).filter((id) => !ids.has(id));
  if (unknown.length > 0) throw new ConfigError('router', [`ROUTER_DESTINATIONS: unknown ids ${unknown.join(', ')}`]);
  return all.filter((d) => d.enabled && (!only || only.includes(d.id)));
}

/** Router defaults overridden by the destination's `config.delivery`. */
export function deliverySettingsFor(dest: DestinationSpec, defaults: DeliverySettings): DeliverySettings {
  const override = (dest.config.delivery ?? {}) as Record<string, unknown>;
  const parsed = deliverySettingsSchema.safeParse({ ...defaults, ...override });
  if (!parsed.success) {
    throw new ConfigError(
      'router',
      parsed.error.issues.map((i) => `destination ${dest.id}: config.delivery.${i.path.join('.')}: ${i.message}`),
    );
  }
  return parsed.data;
}
