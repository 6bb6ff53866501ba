/**
 * Runs a transformation file on sample events and prints the result.
 *
 *   npx tsx libs/transform-sandbox/src/cli.ts <transformation.js> <events.json>
 *       [--lib <name>=<file.js>]... [--metadata '<json>'] [--time-limit <ms>] [--memory-limit <MB>]
 *
 * `events.json` holds one event or an array of events. Exit code 0 when no
 * event ended in an error, 1 when one did, 2 for bad usage or unreadable files.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TransformSandbox } from './sandbox';
import type { JsonEvent, SandboxOptions } from './types';

export interface CliArgs {
  transformationFile: string;
  eventsFile: string;
  libraries: { name: string; file: string }[];
  metadata: Record<string, unknown>;
  options: SandboxOptions;
}

export const USAGE =
  'usage: sluice-transform <transformation.js> <events.json> [--lib name=file.js]... ' +
  '[--metadata \'{"sourceId":"web"}\'] [--time-limit ms] [--memory-limit MB]';

export function parseCliArgs(argv: readonly string[]): CliArgs | { error: string } {
  const positional: string[] = [];
  const libraries: { name: string; file: string }[] = [];
  let metadata: Record<string, unknown> = {};
  const options: SandboxOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    try {
      if (arg === '--lib') {
        const v = value();
        const eq = v.indexOf('=');
        if (eq <= 0) return { error: `--lib expects name=file, got "${v}"` };
        libraries.push({ name: v.slice(0, eq), file: v.slice(eq + 1) });
      } else if (arg === '--metadata') {
        const parsed: unknown = JSON.parse(value());
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
          return { error: '--metadata must be a JSON object' };
        metadata = parsed as Record<string, unknown>;
      } else if (arg === '--time-limit') {
        options.timeLimitMs = Number(value());
        if (!(options.timeLimitMs > 0)) return { error: '--time-limit must be a positive number of milliseconds' };
      } else if (arg === '--memory-limit') {
        const mb = Number(value());
        if (!(mb > 0)) return { error: '--memory-limit must be a positive number of MB' };
        options.memoryLimitBytes = mb * 1024 * 1024;
      } else if (arg === '-h' || arg === '--help') {
        return { error: USAGE };
      } else if (arg.startsWith('--')) {
        return { error: `unknown option ${arg}\n${USAGE}` };
      } else positional.push(arg);
    } catch (err) {
      return { error: (err as Error).message };
    }
  }
  if (positional.length !== 2) return { error: USAGE };
  return { transformationFile: positional[0], eventsFile: positional[1], libraries, metadata, options };
}

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseCliArgs(argv);
  if ('error' in args) {
    io.err(args.error);
    return 2;
  }
  let code: string;
  let events: JsonEvent[];
  const libraries: { name: string; code: string }[] = [];
  try {
    code = await readFile(args.transformationFile, 'utf8');
    const parsed: unknown = JSON.parse(await readFile(args.eventsFile, 'utf8'));
    events = (Array.isArray(parsed) ? parsed : [parsed]) as JsonEvent[];
    for (const lib of args.libraries) libraries.push({ name: lib.name, code: await readFile(lib.file, 'utf8') });
  } catch (err) {
    io.err(`cannot read input: ${(err as Error).message}`);
    return 2;
  }
  const sandbox = await TransformSandbox.create(
    { id: path.basename(args.transformationFile).replace(/\.[cm]?js$/, ''), code, libraries },
    args.options,
  );
  try {
    if (sandbox.error) {
      io.err(`cannot load ${args.transformationFile}: ${sandbox.error}`);
      return 1;
    }
    const result = await sandbox.run(events, args.metadata);
    for (const line of result.logs) io.err(line);
    io.out(JSON.stringify({ results: result.results, unmatched: result.unmatched }, null, 2));
    return result.results.some((r) => r.kind === 'error') ? 1 : 0;
  } finally {
    sandbox.dispose();
  }
}

if (require.main === module) {
  void runCli(process.argv.slice(2), {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
