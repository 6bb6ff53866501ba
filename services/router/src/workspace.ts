import fs from 'node:fs';
import { ConfigError, z } from '@sluice/config';
import { DeliverySettings, deliverySettingsSchema } from '@sluice/delivery';

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
