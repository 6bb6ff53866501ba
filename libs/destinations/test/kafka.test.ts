import { bind, kafkaDestination, kafkaDestinationConfigSchema, type KafkaRecordBatch } from '../src';
import { all, identify, manyTracks, track } from './fixtures';

describe('kafka destination', () => {
  it('turns every call into a record keyed by the partition key, with id headers', () => {
    const config = kafkaDestinationConfigSchema.parse({ topic: 'crm.events' });
    const out = kafkaDestination.transform(all(), config);
    expect(out.deliveries).toHaveLength(1);
    const batch = out.deliveries[0]!.payload;
    expect(batch).toMatchObject({ topic: 'crm.events', format: 'json' });
    expect(batch.records).toHaveLength(6);
    expect(batch.records[0]).toMatchObject({
      key: 'anon-12345',
      value: { type: 'track', event: 'Button Clicked', messageId: 'msg-track-1' },
      headers: { 'sluice-message-id': 'msg-track-1', 'sluice-type': 'track', 'sluice-event': 'Button Clicked' },
    });
    expect(batch.records[1]!.headers['sluice-event']).toBeUndefined();
  });

  it('keys by the chosen id and falls back to userId without anonymousId', () => {
    const byUser = kafkaDestinationConfigSchema.parse({ topic: 't', key: 'userId' });
    expect(kafkaDestination.transform([track()], byUser).deliveries[0]!.payload.records[0]!.key).toBe('user-12345');
    const pk = kafkaDestinationConfigSchema.parse({ topic: 't' });
    expect(
      kafkaDestination.transform([identify({ anonymousId: null })], pk).deliveries[0]!.payload.records[0]!.key,
    ).toBe('user-12345');
  });

  it('avro carries the subject; batches split at batchSize', () => {
    const config = kafkaDestinationConfigSchema.parse({ topic: 'x', format: 'avro', batchSize: 2 });
    const out = kafkaDestination.transform(manyTracks(3), config);
    expect(out.deliveries.map((d) => d.payload.records.length)).toEqual([2, 1]);
    expect(out.deliveries[0]!.payload.subject).toBe('x-value');
  });

  it('rejects bad topic names and accepts another cluster', () => {
    expect(kafkaDestinationConfigSchema.safeParse({ topic: 'bad topic' }).success).toBe(false);
    const c = kafkaDestinationConfigSchema.parse({ topic: 't', cluster: { brokers: ['other:9092'] } });
    expect(c.cluster?.clientId).toBe('sluice-destination');
  });

  it('sends through the producer it is given and classifies its errors', async () => {
    const config = kafkaDestinationConfigSchema.parse({ topic: 't' });
    const d = bind(kafkaDestination, config);
    if (d.transport !== 'kafka') throw new Error();
    const sent: KafkaRecordBatch[] = [];
    const delivery = d.transform([track()]).deliveries[0]!;
    expect(await d.send(delivery, { send: async (b) => void sent.push(b) })).toEqual({ kind: 'ok' });
    expect(sent).toHaveLength(1);
    const down = Object.assign(new Error('broker down'), { name: 'KafkaJSNumberOfRetriesExceeded' });
    expect((await d.send(delivery, { send: async () => Promise.reject(down) })).kind).toBe('retry');
  });
});
