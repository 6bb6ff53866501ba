import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Consumer, Kafka } from 'kafkajs';
import { EventEnvelope } from '@sluice/events';
import { createKafka } from '@sluice/kafka';
import { createLogger, Logger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import { GatewayConfig, loadGatewayConfig } from '../src/config';
import { Gateway, startGateway } from '../src/gateway';
import { runId } from './helpers';

export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081';

export const log: Logger = createLogger('gateway-it', process.env.LOG_LEVEL ?? 'silent');

export interface Workspace {
  file: string;
  dir: string;
  write(sources: { id: string; name: string; writeKey: string; enabled: boolean }[]): void;
  remove(): void;
}

export function tempWorkspace(sources: { id: string; name: string; writeKey: string; enabled: boolean }[]): Workspace {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-it-'));
  const file = path.join(dir, 'workspace.json');
  const write: Workspace['write'] = (s) => {
    const tmp = `${file}.tmp`;
    // Other keys of the workspace are not the gateway's business.
    fs.writeFileSync(
      tmp,
      JSON.stringify({ version: 1, destinations: [], sources: s.map((x) => ({ type: 'http', ...x })) }),
    );
    fs.renameSync(tmp, file);
  };
  write(sources);
  return { file, dir, write, remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function itConfig(workspaceFile: string, prefix: string, env: Record<string, string> = {}): GatewayConfig {
  return loadGatewayConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    WORKERS: '1',
    WORKSPACE_FILE: workspaceFile,
    KAFKA_BROKERS,
    SCHEMA_REGISTRY_URL,
    SLUICE_TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    // In-process tests keep the KafkaJS produce path covered; the spawned-process tests
    // (main.it, outage.it) cover the default @platformatic/kafka path.
    KAFKA_PRODUCER: 'kafkajs',
    ...env,
  });
}

export interface ReadEvent {
  key: string;
  partition: number;
  offset: string;
  envelope: EventEnvelope;
}

/** Reads a topic from the beginning and decodes every record, as the processor will. */
export class TopicReader {
  readonly events: ReadEvent[] = [];
  private consumer: Consumer | undefined;
  private readonly serde: AvroSerde;

  constructor(
    private readonly kafka: Kafka,
    private readonly topic: string,
  ) {
    this.serde = new AvroSerde({ url: SCHEMA_REGISTRY_URL });
  }

  static async open(brokers: string, topic: string): Promise<TopicReader> {
    const kafka = createKafka(
      { brokers: brokers.split(','), clientId: 'gateway-it-reader', topicPrefix: '', ssl: false },
      log,
    );
    const r = new TopicReader(kafka, topic);
    await r.start();
    return r;
  }

  private async start(): Promise<void> {
    this.consumer = this.kafka.consumer({ groupId: `gateway-it-${runId()}`, allowAutoTopicCreation: false });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message, partition }) => {
        const envelope = await this.serde.decode<EventEnvelope>(message.value as Buffer, 'event-envelope');
        this.events.push({ key: message.key?.toString() ?? '', partition, offset: message.offset, envelope });
      },
    });
  }

  byMessageId(id: string): ReadEvent | undefined {
    return this.events.find((e) => e.envelope.messageId === id);
  }

  async waitFor(cond: (events: ReadEvent[]) => boolean, ms = 30000): Promise<void> {
    const until = Date.now() + ms;
    while (!cond(this.events)) {
      if (Date.now() > until) throw new Error(`timed out waiting on ${this.topic} (have ${this.events.length} events)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async close(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

/** Deletes the topics a test run created (best effort). */
export async function deleteTopics(brokers: string, topics: string[]): Promise<void> {
  const kafka = createKafka(
    { brokers: brokers.split(','), clientId: 'gateway-it-cleanup', topicPrefix: '', ssl: false },
    log,
  );
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteTopics({ topics, timeout: 10000 });
  } catch {
    // leftovers of a test run are harmless: names are unique per run
  } finally {
    await admin.disconnect();
  }
}

/** An in-process gateway on its own workspace and topic prefix, with a reader of its events.raw. */
export interface GatewayUnderTest {
  gw: Gateway;
  reader: TopicReader;
  ws: Workspace;
  /** Stops the gateway and the reader, deletes the run's topic and the workspace. */
  close(): Promise<void>;
}

export async function startGatewayUnderTest(
  sources: { id: string; name: string; writeKey: string; enabled: boolean }[],
  prefix: string,
  env: Record<string, string> = {},
): Promise<GatewayUnderTest> {
  const ws = tempWorkspace(sources);
  const gw = await startGateway(itConfig(ws.file, prefix, env), log);
  const reader = await TopicReader.open(KAFKA_BROKERS, gw.topic);
  return {
    gw,
    reader,
    ws,
    close: async () => {
      await gw.close();
      await reader.close();
      await deleteTopics(KAFKA_BROKERS, [gw.topic]);
      ws.remove();
    },
  };
}
