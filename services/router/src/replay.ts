import { parseArgs } from 'node:util';
import {
  buildConfig,
  Env,
  kafkaConfigSchema,
  readKafkaEnv,
  readRegistryEnv,
  registryConfigSchema,
  z,
} from '@sluice/config';
import { createDurableProducer, createKafka } from '@sluice/kafka';
import { createLogger } from '@sluice/observability';
import { AvroSerde } from '@sluice/serde';
import { backfill, replayDeadLetters, ReplayContext } from './replay-core';

const USAGE = `usage:
  replay dead-letters [--destination ID] [--from TIME] [--to TIME] [--dry-run]
      re-deliver the router's dead letters (of one destination, failed in [from, to))
  replay backfill --source ID --destination ID --from TIME [--to TIME] [--topic NAME] [--dry-run]
      re-send a source's events accepted in [from, to) from sluice.events.raw to a destination
TIME is an ISO-8601 date-time or epoch milliseconds. Kafka and the registry come from
KAFKA_BROKERS, SLUICE_TOPIC_PREFIX and SCHEMA_REGISTRY_URL as for the services.`;

const cliConfigSchema = z.object({ kafka: kafkaConfigSchema, registry: registryConfigSchema });

function time(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const t = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(t)) throw new Error(`--${name}: not a date-time: ${value}`);
  return t;
}

export async function runReplay(argv: string[], env: Env): Promise<number> {
  const [command, ...rest] = argv;
  const { values } = parseArgs({
    args: rest,
    options: {
      destination: { type: 'string' },
      source: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      topic: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const help = values.help || command === '--help' || command === '-h' || command === 'help';
  if (help || (command !== 'dead-letters' && command !== 'backfill')) {
    process.stderr.write(`${USAGE}\n`);
    return help ? 0 : 2;
  }
  const from = time(values.from, 'from');
  const to = time(values.to, 'to');
  const dryRun = values['dry-run'] ?? false;
  if (command === 'backfill' && (!values.source || !values.destination || from === undefined)) {
    process.stderr.write(`backfill needs --source, --destination and --from\n${USAGE}\n`);
    return 2;
  }
  const config = buildConfig(
    'replay',
    cliConfigSchema,
    (e) => ({ kafka: readKafkaEnv(e, 'sluice-replay'), registry: readRegistryEnv(e) }),
    env,
  );
  const log = createLogger('replay', env.LOG_LEVEL ?? 'warn');
  const kafka = createKafka(config.kafka, log);
  const producer = createDurableProducer(kafka);
  await producer.connect();
  const ctx: ReplayContext = {
    kafka,
    producer,
    serde: new AvroSerde(config.registry),
    topicPrefix: config.kafka.topicPrefix,
    log,
  };
  try {
    let report;
    if (command === 'dead-letters') {
      report = await replayDeadLetters(ctx, { destinationId: values.destination, from, to, dryRun });
    } else {
      report = await backfill(ctx, {
        sourceId: values.source as string,
        destinationId: values.destination as string,
        from,
        to,
        fromTopic: values.topic,
        dryRun,
      });
    }
    process.stdout.write(`${JSON.stringify({ command, ...report })}\n`);
    return 0;
  } finally {
    await producer.disconnect();
  }
}

if (require.main === module) {
  runReplay(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`replay failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
