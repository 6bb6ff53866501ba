// `npm run build`: bundles the services that run as plain JavaScript (decision 0507) into
// dist/<service>/main.js, so production processes don't carry tsx's loader thread.
// Usage: node deploy/build.mjs [--outdir DIR] [service ...]   (default: gateway)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLED = new Set(['gateway']);
const THREADS = { gateway: ['encoder-thread-main'] };

const args = process.argv.slice(2);
let outdir = path.join(ROOT, 'dist');
const services = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--outdir') outdir = path.resolve(args[++i]);
  else services.push(args[i]);
}
if (services.length === 0) services.push(...BUNDLED);

for (const name of services) {
  if (!BUNDLED.has(name)) {
    console.error(`build: ${name} is not bundled (only ${[...BUNDLED].join(', ')}); run it with tsx`);
    process.exit(2);
  }
  const src = path.join(ROOT, 'services', name, 'src');
  const outfile = path.join(outdir, name, 'main.js');
  await build({
    // Extra entries are files a service starts as worker threads.
    entryPoints: [
      { in: path.join(src, 'main.ts'), out: 'main' },
      ...(THREADS[name] ?? []).map((t) => ({ in: path.join(src, `${t}.ts`), out: t })),
    ],
    outdir: path.join(outdir, name),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: true,
    // ES-module-only, loaded with a real import() at run time from node_modules.
    external: ['@platformatic/kafka'],
    logLevel: 'warning',
  });
  console.log(`build: ${path.relative(ROOT, outfile)}`);
}
