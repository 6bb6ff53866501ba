import type { Logger } from '@sluice/observability';
import type { SluiceEvent } from '@sluice/processing';
import { TransformRunner } from '@sluice/transform-sandbox';
import type { WorkspaceStore } from '@sluice/workspace';
import type { ProcessorConfig } from './config';
import type { TransformationRunner, TransformMetadata, TransformOutcome } from './transformations';

/** User transformations from the workspace, each in its own QuickJS sandbox (see libs/transform-sandbox). */
export function sandboxRunner(store: WorkspaceStore, config: ProcessorConfig, log: Logger): TransformationRunner {
  const runner = new TransformRunner({
    memoryLimitBytes: config.transformMemoryMb * 1024 * 1024,
    timeLimitMs: config.transformTimeoutMs,
  });
  store.onChange((next) => {
    void runner.retain(new Set(next.transformationById.keys()));
  });
  return {
    async run(transformationId: string, events: SluiceEvent[], meta: TransformMetadata): Promise<TransformOutcome[]> {
      const snapshot = store.current();
      const t = snapshot.transformationById.get(transformationId);
      if (!t)
        return events.map(() => ({
          kind: 'error',
          message: `transformation ${transformationId} is not in the workspace`,
        }));
      const libraries = (t.libraries ?? []).map((name) => {
        const lib = snapshot.libraryByName.get(name);
        return { name, code: lib?.code ?? '' };
      });
      const result = await runner.run({ id: t.id, code: t.code, libraries }, events, { ...meta });
      if (result.logs.length > 0) log.debug({ transformationId, lines: result.logs.length }, 'transformation logged');
      if (result.restarts > 0)
        log.warn({ transformationId, restarts: result.restarts }, 'transformation sandbox recreated');
      return result.results.map((r): TransformOutcome => {
        if (r.kind === 'ok') return { kind: 'ok', events: r.events as SluiceEvent[] };
        if (r.kind === 'drop') return { kind: 'drop' };
        return { kind: 'error', message: `${r.cause}: ${r.message}` };
      });
    },
    close: () => runner.close(),
  };
}
