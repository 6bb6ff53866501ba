import type { Logger } from '@sluice/observability';
import type { WorkspaceStore } from '@sluice/workspace';
import type { Router } from './router';
import { destinationsOf, selectDestinations, type DestinationSpec } from './workspace';

/**
 * The destinations to run for a reloaded workspace. `only` ids that the new
 * workspace no longer has are left out with a warning: failing would stop a
 * running router over an edit it can simply follow.
 */
export function reloadSelection(all: DestinationSpec[], only: string[] | undefined, log: Logger): DestinationSpec[] {
  if (!only) return selectDestinations(all);
  const ids = new Set(all.map((d) => d.id));
  const missing = only.filter((id) => !ids.has(id));
  if (missing.length > 0) {
    log.warn({ missing }, 'ROUTER_DESTINATIONS names destinations the reloaded workspace does not have');
  }
  return selectDestinations(
    all,
    only.filter((id) => ids.has(id)),
  );
}

/**
 * Applies every accepted workspace reload to the router: new or enabled
 * destinations start, removed or disabled ones stop, changed ones restart.
 * Returns the unsubscribe function.
 */
export function followWorkspace(
  store: WorkspaceStore,
  router: Router,
  only: string[] | undefined,
  log: Logger,
): () => void {
  return store.onChange((next) => {
    const specs = reloadSelection(destinationsOf(next), only, log);
    router.apply(specs).catch((err: unknown) => {
      log.error({ err, fingerprint: next.fingerprint }, 'could not apply the reloaded workspace');
    });
  });
}
