import { createLogger, Lifecycle } from '@sluice/observability';
import { loadRegistryServiceConfig } from './config';
import { startSchemaRegistry } from './registry';

async function main(): Promise<void> {
  const config = loadRegistryServiceConfig(process.env);
  const log = createLogger('schema-registry', config.logLevel);
  const lifecycle = new Lifecycle(log);
  lifecycle.onSignals();
  const registry = await startSchemaRegistry(config, log);
  lifecycle.add('schema-registry', () => registry.stop());
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
