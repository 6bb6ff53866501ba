import { randomBytes } from 'node:crypto';
import { createLogger } from '@sluice/observability';
import { kafkaConfigSchema } from '@sluice/config';
import { createKafka } from '../src';

export const brokers = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const testLog = createLogger('test', process.env.LOG_LEVEL ?? 'warn');

/** A prefix unique to this test file's run, so runs never share topics or groups. */
export function uniquePrefix(label: string): string {
  return `t-${label}-${randomBytes(4).toString('hex')}.`;
}

export function testKafka(clientId = 'sluice-test') {
  return createKafka(kafkaConfigSchema.parse({ brokers, clientId }), testLog);
}
