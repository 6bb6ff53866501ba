import { parentPort, workerData } from 'node:worker_threads';
import { toEnvelope } from '@sluice/events';
import { AvroSerde } from '@sluice/serde';
import { encodeEvents, parseRequest } from './encode-request';
import type { EncodeMessage, EncoderThreadData, FromEncoderThread } from './encoder-pool';
import { RequestError } from './payload';
import { packRecords } from './record-transfer';
import type { EventEncoder } from './server';

// An encoder thread (see encoder-pool.ts): body → records, with its own binding to the schema registry.
async function run(port: NonNullable<typeof parentPort>, data: EncoderThreadData): Promise<void> {
  const post = (msg: FromEncoderThread, transfer?: ArrayBuffer[]) => port.postMessage(msg, transfer);
  const serde = new AvroSerde(data.config.registry);
  try {
    await serde.bindTopic(data.topic, 'event-envelope');
  } catch (err) {
    post({ type: 'start-failed', message: (err as Error).message });
    return;
  }
  const encode: EventEncoder = (event, sourceId, requestIp) =>
    serde.encode(data.topic, 'event-envelope', toEnvelope(event, { sourceId, requestIp }));

  port.on('message', (msg: EncodeMessage) => {
    try {
      const { events } = parseRequest(Buffer.from(msg.body), msg.ctx);
      const packed = packRecords(encodeEvents(events, msg.sourceId, msg.ctx, encode));
      post({ type: 'encoded', id: msg.id, ...packed }, [packed.values, packed.lengths.buffer as ArrayBuffer]);
    } catch (err) {
      if (err instanceof RequestError) post({ type: 'rejected', id: msg.id, status: err.status, message: err.message });
      else post({ type: 'failed', id: msg.id, message: (err as Error).message });
    }
  });
  post({ type: 'ready' });
}

if (parentPort) void run(parentPort, workerData as EncoderThreadData);
