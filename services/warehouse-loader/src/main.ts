import { createLogger, Lifecycle } from '@sluice/observability';
import { loadLoaderConfig } from './config';
import { startLoader } from './loader';

async function main(): Promise<void> {
  const config = loadLoaderConfig(process.env);
  const log = createLogger('warehouse-loader', config.observability.logLevel);
  const lifecycle = new Lifecycle(log);
  lifecycle.onSignals();
  await startLoader(config, log, lifecycle);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
