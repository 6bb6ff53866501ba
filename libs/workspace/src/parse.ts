import Ajv from 'ajv';
import type { z } from 'zod';
import { BUILTIN_DESTINATION_TYPES, DestinationTypeInfo } from './destination-types';
import { WorkspaceConfig, workspaceSchema } from './schema';

export interface ParseOptions {
  /** Destination types beyond the built-in ones (or replacements for them), by type id. */
  destinationTypes?: Readonly<Record<string, DestinationTypeInfo>>;
}

export type ParseResult = { ok: true; config: WorkspaceConfig } | { ok: false; problems: string[] };

/** `['destinations', 2, 'config', 'apiKey']` → `destinations[2].config.apiKey`. */
export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(part)}]`;
  }
  return out === '' ? '(root)' : out;
}

function issueMessage(issue: z.ZodIssue): string {
  if (issue.message === 'Required') return 'required';
  if (issue.code === 'unrecognized_keys') return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  return issue.message;
}

function zodProblems(error: z.ZodError, prefix: ReadonlyArray<string | number> = []): string[] {
  return error.issues.map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issueMessage(issue)}`);
}

/**
 * Validates a workspace document (already parsed from JSON/YAML): the shape,
 * each destination's config against its type, JSON Schemas of tracking plans,
 * and every cross-reference. Problems name the entry they are about, e.g.
 * `destinations[2].config.apiKey: required`.
 */
export function parseWorkspace(raw: unknown, opts: ParseOptions = {}): ParseResult {
  const parsed = workspaceSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, problems: zodProblems(parsed.error) };
  const config = parsed.data;
  const problems: string[] = [];
  const types = { ...BUILTIN_DESTINATION_TYPES, ...(opts.destinationTypes ?? {}) };

  // Destination configs, per type.
  config.destinations.forEach((dest, i) => {
    const info = types[dest.type];
    if (!info) {
      problems.push(
        `destinations[${i}].type: unknown destination type "${dest.type}" (known: ${Object.keys(types).sort().join(', ')})`,
      );
      return;
    }
    const res = info.configSchema.safeParse(dest.config);
    if (res.success) dest.config = res.data as Record<string, unknown>;
    else problems.push(...zodProblems(res.error, ['destinations', i, 'config']));
  });

  const uniqueIds = (list: ReadonlyArray<{ id: string }>, what: string): Map<string, number> => {
    const seen = new Map<string, number>();
    list.forEach((item, i) => {
      const first = seen.get(item.id);
      if (first !== undefined) problems.push(`${what}[${i}].id: duplicate id "${item.id}" (also ${what}[${first}])`);
      else seen.set(item.id, i);
    });
    return seen;
  };
  const sources = uniqueIds(config.sources, 'sources');
  const destinations = uniqueIds(config.destinations, 'destinations');
  const transformations = uniqueIds(config.transformations, 'transformations');
  uniqueIds(config.trackingPlans, 'trackingPlans');

  const writeKeys = new Map<string, number>();
  config.sources.forEach((src, i) => {
    if (src.type !== 'http') return;
    const first = writeKeys.get(src.writeKey);
    if (first !== undefined) {
      problems.push(
        `sources[${i}].writeKey: duplicate write key (also used by sources[${first}] "${config.sources[first].id}")`,
      );
    } else writeKeys.set(src.writeKey, i);
  });

  const libraries = new Map<string, number>();
  config.transformationLibraries.forEach((lib, i) => {
    const first = libraries.get(lib.name);
    if (first !== undefined) {
      problems.push(
        `transformationLibraries[${i}].name: duplicate library name "${lib.name}" (also transformationLibraries[${first}])`,
      );
    } else libraries.set(lib.name, i);
  });
  config.transformations.forEach((t, i) => {
    t.libraries.forEach((name, j) => {
      if (!libraries.has(name))
        problems.push(`transformations[${i}].libraries[${j}]: unknown transformation library "${name}"`);
    });
  });

  const pairs = new Map<string, number>();
  config.connections.forEach((c, i) => {
    if (!sources.has(c.sourceId)) problems.push(`connections[${i}].sourceId: unknown source "${c.sourceId}"`);
    if (!destinations.has(c.destinationId)) {
      problems.push(`connections[${i}].destinationId: unknown destination "${c.destinationId}"`);
    }
    if (c.transformationId !== undefined && !transformations.has(c.transformationId)) {
      problems.push(`connections[${i}].transformationId: unknown transformation "${c.transformationId}"`);
    }
    const destIndex = destinations.get(c.destinationId);
    const dest = destIndex === undefined ? undefined : config.destinations[destIndex];
    if (c.transformationId !== undefined && dest !== undefined && types[dest.type]?.lake) {
      problems.push(
        `connections[${i}].transformationId: lake destination "${dest.id}" loads the shared processed events; transformations apply to delivered destinations only`,
      );
    }
    const pair = `${c.sourceId}\u0000${c.destinationId}`;
    const first = pairs.get(pair);
    if (first !== undefined) {
      problems.push(
        `connections[${i}]: duplicate connection ${c.sourceId} → ${c.destinationId} (also connections[${first}])`,
      );
    } else pairs.set(pair, i);
  });

  const ajv = new Ajv({ strict: false, allErrors: true });
  const planOfSource = new Map<string, number>();
  config.trackingPlans.forEach((plan, i) => {
    plan.sourceIds.forEach((sid, j) => {
      if (!sources.has(sid)) problems.push(`trackingPlans[${i}].sourceIds[${j}]: unknown source "${sid}"`);
      const first = planOfSource.get(sid);
      if (first !== undefined && first !== i) {
        problems.push(
          `trackingPlans[${i}].sourceIds[${j}]: source "${sid}" already has tracking plan trackingPlans[${first}]`,
        );
      } else planOfSource.set(sid, i);
    });
    const check = (schema: Record<string, unknown> | undefined, path: string) => {
      if (schema === undefined) return;
      if (!ajv.validateSchema(schema)) {
        problems.push(`${path}: invalid JSON Schema: ${ajv.errorsText(ajv.errors, { dataVar: 'schema' })}`);
      }
    };
    for (const [event, rule] of Object.entries(plan.rules.events)) {
      check(rule.properties, `trackingPlans[${i}].rules.events[${JSON.stringify(event)}].properties`);
    }
    check(plan.rules.identify?.traits, `trackingPlans[${i}].rules.identify.traits`);
  });

  return problems.length > 0 ? { ok: false, problems } : { ok: true, config };
}
