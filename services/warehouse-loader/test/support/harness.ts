import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SegmentEvent, toEnvelope } from '@sluice/events';
import type { IdentityEdge } from '@sluice/identity';
import { createDurableProducer, createKafka, ensureTopics, Producer, TOPICS, topicName } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';

export const BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const REGISTRY = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';
export const S3_ENDPOINT = process.env.S3_ENDPOINT ?? 'http://127.0.0.1:9000';
export const PYTHON = process.env.SLUICE_PYTHON ?? 'python3';
const REPO = path.resolve(__dirname, '../../../..');
const MAIN = path.join('services', 'warehouse-loader', 'src', 'main.ts');

export const suffix = () => randomBytes(4).toString('hex');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function tempLake(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-loader-it-'));
}

/** The loader as a child process running main.ts (so a test can kill -9 it). */
export class LoaderProcess {
  readonly logs: string[] = [];
  private child: ChildProcess | undefined;
  private exited: Promise<number | null> | undefined;

  constructor(private readonly env: Record<string, string>) {}

  async start(timeoutMs = 60000): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: REPO,
      env: {
        ...process.env,
        KAFKA_BROKERS: BROKERS,
        SCHEMA_REGISTRY_URL: REGISTRY,
        METRICS_PORT: '0',
        LOG_LEVEL: 'info',
        ...this.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    let started!: () => void;
    const isStarted = new Promise<void>((r) => (started = r));
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        this.logs.push(line);
        if (line.includes('warehouse loader started')) started();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    const timeout = sleep(timeoutMs).then(() => {
      throw new Error(`loader did not start in ${timeoutMs} ms:\n${this.logs.slice(-20).join('\n')}`);
    });
    const died = this.exited.then((code) => {
      throw new Error(`loader exited (${code}) before starting:\n${this.logs.slice(-20).join('\n')}`);
    });
    await Promise.race([isStarted, timeout, died]);
  }

  /** kill -9: no flush, no offset commit, no group leave. */
  async kill9(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM: the graceful path. */
  async terminate(): Promise<number | null> {
    this.child?.kill('SIGTERM');
    return this.exited!;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }
}

/** Produces Avro records to the prefixed processed-events and identity-edges topics, as the processor does. */
export class TestProducer {
  readonly log = createLogger('loader-it', 'warn');
  readonly kafka;
  readonly serde = new AvroSerde({ url: REGISTRY });
  readonly eventsTopic: string;
  readonly edgesTopic: string;
  private producer: Producer | undefined;

  constructor(readonly prefix: string) {
    this.kafka = createKafka(
      { brokers: BROKERS.split(','), clientId: 'loader-it', topicPrefix: prefix, ssl: false },
      this.log,
    );
    this.eventsTopic = topicName(prefix, TOPICS.eventsProcessed.name);
    this.edgesTopic = topicName(prefix, TOPICS.identityEdges.name);
  }

  async connect(): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    await ensureTopics(admin, [TOPICS.eventsProcessed, TOPICS.identityEdges], this.prefix);
    await admin.disconnect();
    await this.serde.bindTopic(this.eventsTopic, 'event-envelope');
    await this.serde.bindTopic(this.edgesTopic, 'identity-edge');
    this.producer = createDurableProducer(this.kafka);
    await this.producer.connect();
  }

  /** New topics take a moment to have leaders: retry "does not host this topic-partition". */
  private async send(record: Parameters<Producer['send']>[0]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.producer!.send(record);
        return;
      } catch (err) {
        if (attempt >= 30) throw err;
        await sleep(500);
      }
    }
  }

  async sendEvents(events: SegmentEvent[]): Promise<void> {
    await this.send({
      topic: this.eventsTopic,
      acks: -1,
      messages: events.map((e) => ({
        key: String(e.anonymousId ?? e.userId ?? e.messageId),
        value: this.serde.encode(this.eventsTopic, 'event-envelope', toEnvelope(e, { sourceId: 'src-it' })),
      })),
    });
  }

  async sendEdges(edges: IdentityEdge[]): Promise<void> {
    await this.send({
      topic: this.edgesTopic,
      acks: -1,
      messages: edges.map((e) => ({ key: e.leftValue, value: this.serde.encode(this.edgesTopic, 'identity-edge', e) })),
    });
  }

  async close(): Promise<void> {
    await this.producer?.disconnect();
  }
}

/**
 * Deterministic events: tracks of two names (the `amount` property is an int in
 * the first half and a float later, `coupon` appears later: schema evolution),
 * identifies and pages.
 */
export function makeEvents(runId: string, from: number, count: number, total: number): SegmentEvent[] {
  const out: SegmentEvent[] = [];
  const now = Date.now();
  for (let i = from; i < from + count; i++) {
    const kind = i % 4;
    const late = i >= total / 2;
    const base = {
      messageId: `${runId}-${i}`,
      anonymousId: `anon-${i % 97}`,
      receivedAt: new Date(now + i).toISOString(),
      timestamp: new Date(now + i).toISOString(),
      context: { library: { name: 'loader-it' } },
    };
    if (kind === 0 || kind === 1) {
      out.push({
        ...base,
        type: 'track',
        event: kind === 0 ? 'Order Completed' : 'Product Viewed',
        properties: late ? { amount: i + 0.5, coupon: `C${i}` } : { amount: i },
      });
    } else if (kind === 2) {
      out.push({
        ...base,
        type: 'identify',
        userId: `user-${i % 13}`,
        traits: { plan: late ? 'pro' : 'free', seats: i % 7 },
      });
    } else {
      out.push({ ...base, type: 'page', name: 'Home', properties: { path: `/p/${i % 5}` } });
    }
  }
  return out;
}

/** Events per table for makeEvents(…, 0, n, n). */
export function expectedCounts(n: number): Record<string, number> {
  const c = { tracks: 0, order_completed: 0, product_viewed: 0, identifies: 0, pages: 0 };
  for (let i = 0; i < n; i++) {
    const kind = i % 4;
    if (kind === 0) {
      c.tracks++;
      c.order_completed++;
    } else if (kind === 1) {
      c.tracks++;
      c.product_viewed++;
    } else if (kind === 2) c.identifies++;
    else c.pages++;
  }
  return c;
}

export interface TableInfo {
  missing?: boolean;
  version: number;
  schema: Record<string, string>;
  rows: number;
  distinct_ids?: number;
  duplicates?: string[];
  duckdb_rows?: number;
  duckdb_delta_scan_rows?: number;
  all_rows?: Record<string, unknown>[];
}

export interface ReadArgs {
  root: string;
  tables: string[];
  storage_options?: Record<string, string>;
  parquet_root?: string;
  rows_of?: string[];
}

/** Reads the lake with delta-rs and DuckDB (Python), independent of Sluice's reader. */
export function readLake(
  args: ReadArgs,
): Promise<Record<string, TableInfo> & { _parquet?: Record<string, [number, number] | string> }> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [path.join(__dirname, 'read_lake.py'), JSON.stringify(args)],
      { maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`read_lake.py failed: ${stderr || err.message}`));
        else resolve(JSON.parse(stdout));
      },
    );
  });
}

/** Polls until check passes (returns the last read). */
export async function waitForLake(
  args: ReadArgs,
  check: (r: Record<string, TableInfo>) => boolean,
  timeoutMs = 90000,
): Promise<Record<string, TableInfo> & { _parquet?: Record<string, [number, number] | string> }> {
  const deadline = Date.now() + timeoutMs;
  let last: Awaited<ReturnType<typeof readLake>> | undefined;
  while (Date.now() < deadline) {
    last = await readLake(args);
    if (check(last)) return last;
    await sleep(1500);
  }
  throw new Error(
    `lake did not reach the expected state in ${timeoutMs} ms; last read: ${JSON.stringify(last).slice(0, 2000)}`,
  );
}

export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir);
}
