import { createLogger, Lifecycle } from '@sluice/observability';
import { loadProcessorConfig } from './config';
import { startProcessor } from './processor';
import { sandboxRunner } from './sandbox-runner';

async function main(): Promise<void> {
  const config = loadProcessorConfig(process.env);
  const log = createLogger('processor', config.observability.logLevel);
  const lifecycle = new Lifecycle(log);
  lifecycle.onSignals();
  const processor = await startProcessor(config, log, (store) => sandboxRunner(store, config, log), {
    // A newer instance with this instance id fenced us: leave the group so it gets every partition.
    onFatal: () =>
      lifecycle.fatal('another processor took over this instance id; exiting', { instanceId: config.instanceId }),
  });
  lifecycle.add('processor', () => processor.stop());
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
