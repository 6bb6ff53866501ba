// Rows/s into Delta tables (RudderStack layout) on a local folder and on S3.
// Run: node --import tsx bench/lake/delta-write.ts [events] [batchSize]
// Wall-clock figures depend on what else runs on the machine; rows per
// CPU-second (user + system time of this process) is the steadier figure.
// Env: S3_ENDPOINT (default http://127.0.0.1:9000; set BENCH_S3=0 to skip S3).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { DeltaLake, LocalFolderStore, mapEvents, ObjectStore, S3Store, WarehouseEvent } from '../../libs/lake/src';
import { makeEvents } from './events';

const EVENTS = Number(process.argv[2] ?? 110_000);
const BATCH = Number(process.argv[3] ?? 10_000);

async function run(label: string, store: ObjectStore, events: WarehouseEvent[]): Promise<void> {
  const lake = new DeltaLake(store, { root: 'bench' });
  const uuidTs = new Date().toISOString();
  // warm-up on a separate root (JIT, table creation paths)
  await new DeltaLake(store, { root: 'warmup' }).writeEvents(events.slice(0, 2000), {
    appId: 'warm',
    version: 1,
    uuidTs,
  });
  let rows = 0;
  let mapMs = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0, version = 1; i < events.length; i += BATCH, version++) {
    const batch = events.slice(i, i + BATCH);
    const m0 = performance.now();
    const mapped = mapEvents(batch, { uuidTs });
    mapMs += performance.now() - m0;
    for (const list of mapped.tables.values()) rows += list.length;
    const out = await lake.writeTables(mapped.tables, mapped.discards, { appId: 'bench', version, uuidTs });
    if (out.status !== 'ok') throw new Error(`${label}: batch ${version} failed: ${JSON.stringify(out.tables)}`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(c0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  const tables = (await store.list('bench/')).filter((k) => k.endsWith('00000000000000000000.json')).length;
  console.log(
    `${label.padEnd(13)} ${events.length.toLocaleString('en-US')} events → ${rows.toLocaleString('en-US')} rows in ${tables} tables, ` +
      `${seconds.toFixed(1)} s: ${Math.round(rows / seconds).toLocaleString('en-US')} rows/s, ` +
      `${Math.round(events.length / seconds).toLocaleString('en-US')} events/s (mapping ${(mapMs / 1000).toFixed(1)} s of it); ` +
      `CPU ${cpuSeconds.toFixed(1)} s: ${Math.round(rows / cpuSeconds).toLocaleString('en-US')} rows per CPU-second`,
  );
}

async function main(): Promise<void> {
  console.log(
    `node ${process.version}, ${os.cpus().length} cpus, load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
  console.log(`${EVENTS} events in batches of ${BATCH} (85% track over 5 event names, 8% page, 7% identify)`);
  const events = makeEvents(EVENTS);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-delta-bench-'));
  try {
    await run('local folder', new LocalFolderStore(dir), events);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (process.env.BENCH_S3 !== '0') {
    const endpoint = process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000';
    const bucket = `sluice-bench-${randomBytes(4).toString('hex')}`;
    const config = {
      bucket,
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'sluice',
        secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'sluice-secret',
      },
    };
    const store = new S3Store(config);
    await store.client.send(new CreateBucketCommand({ Bucket: bucket }));
    await run(`s3 (${new URL(endpoint).host})`, store, events);
  }
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
