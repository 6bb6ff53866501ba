import { createLogger, createMetricsRegistry, Lifecycle, startOpsServer } from '@sluice/observability';
import { loadRouterConfig } from './config';
import { followWorkspace } from './follow';
import { startRouter } from './router';
import { destinationsOf, openWorkspace, selectDestinations } from './workspace';

async function main(): Promise<void> {
  const config = loadRouterConfig(process.env);
  const log = createLogger('router', config.observability.logLevel);
  const lifecycle = new Lifecycle(log);
  lifecycle.onSignals();
  const workspace = await openWorkspace(config.workspaceFile, log.child({ component: 'workspace' }));
  lifecycle.add('workspace', async () => workspace.close());
  const destinations = selectDestinations(destinationsOf(workspace.current()), config.only);
  const registry = createMetricsRegistry('router');
  let started = false;
  const ops = await startOpsServer(config.observability.metricsPort, registry, () => started);
  lifecycle.add('ops server', () => ops.close());
  const router = await startRouter(config, {
    log,
    registry,
    destinations,
    // A consumer that gave up cannot deliver again: stop cleanly and exit non-zero so the supervisor restarts us.
    onFatal: (destinationId) => {
      log.fatal({ destinationId }, 'destination consumer stopped for good; exiting');
      void lifecycle.stop().then(() => process.exit(1));
    },
  });
  lifecycle.add('router', () => router.stop());
  // Stopped first on shutdown (added last), so no reload starts a destination while the router stops.
  const unfollow = followWorkspace(workspace, router, config.only, log);
  lifecycle.add('workspace reloads', async () => unfollow());
  started = true;
  log.info({ metricsPort: ops.port }, 'router ready');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
