/**
 * hyparquet and hyparquet-writer are published as ES modules only. Node 20.19+
 * loads them with a plain `require` (require(esm)); Jest's module registry
 * does not, so they are loaded through Node's own `createRequire`, taken from
 * `process.getBuiltinModule` to get the real loader in every runtime.
 */
import type * as HyparquetWriter from 'hyparquet-writer';
import type * as Hyparquet from 'hyparquet';

type NodeModule = typeof import('node:module');

function nodeRequire(id: string): unknown {
  const proc = process as unknown as { getBuiltinModule?: (name: string) => unknown };
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the ESM-only parquet libs are loaded through Node's own require
  const mod = (proc.getBuiltinModule?.('node:module') ?? require('node:module')) as NodeModule;
  return mod.createRequire(__filename)(id);
}

let writer: typeof HyparquetWriter | undefined;
let reader: typeof Hyparquet | undefined;

export function hyparquetWriter(): typeof HyparquetWriter {
  return (writer ??= nodeRequire('hyparquet-writer') as typeof HyparquetWriter);
}

export function hyparquet(): typeof Hyparquet {
  return (reader ??= nodeRequire('hyparquet') as typeof Hyparquet);
}
