import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';

/**
 * Starts one of the gateway's worker threads by its entry's name: the bundled
 * JavaScript next to this file (dist/gateway/<name>.js, see deploy/build.mjs),
 * or, when the gateway runs from its sources, the TypeScript file through
 * tsx's CommonJS hook.
 */
export function startGatewayThread(name: string, workerData: unknown): Worker {
  const js = path.join(__dirname, `${name}.js`);
  if (fs.existsSync(js)) return new Worker(js, { workerData });
  const ts = path.join(__dirname, `${name}.ts`);
  return new Worker(`require('tsx/cjs'); require(${JSON.stringify(ts)});`, { eval: true, workerData });
}
