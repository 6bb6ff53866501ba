import type { Kafka } from 'kafkajs';
import { isConcurrentTransactionsError, isFencedError, kafkajsTransactionalProducer } from '../src';

describe('isFencedError', () => {
  it("recognises both clients' fencing errors, however they are wrapped", () => {
    // KafkaJS: a protocol error with its type.
    expect(isFencedError(Object.assign(new Error('fenced'), { type: 'INVALID_PRODUCER_EPOCH' }))).toBe(true);
    expect(isFencedError(Object.assign(new Error('fenced'), { type: 'PRODUCER_FENCED' }))).toBe(true);
    // @platformatic/kafka: protocol errors inside a response error, or only the response's code.
    const protocol = Object.assign(new Error('fenced'), { apiId: 'PRODUCER_FENCED' });
    expect(isFencedError(new AggregateError([protocol], 'Received response with error'))).toBe(true);
    expect(isFencedError(Object.assign(new Error('x'), { response: { errorCode: 47 } }))).toBe(true);
    expect(isFencedError(new Error('retries exhausted', { cause: protocol }))).toBe(true);
  });

  it('is false for other errors', () => {
    expect(isFencedError(Object.assign(new Error('busy'), { type: 'CONCURRENT_TRANSACTIONS' }))).toBe(false);
    expect(isFencedError(Object.assign(new Error('x'), { response: { errorCode: 51 } }))).toBe(false);
    expect(isFencedError(new AggregateError([new Error('timeout')], 'x'))).toBe(false);
    expect(isFencedError(undefined)).toBe(false);
  });
});

describe('isConcurrentTransactionsError', () => {
  it("recognises both clients' CONCURRENT_TRANSACTIONS, however they are wrapped", () => {
    expect(isConcurrentTransactionsError(Object.assign(new Error('busy'), { type: 'CONCURRENT_TRANSACTIONS' }))).toBe(
      true,
    );
    const protocol = Object.assign(new Error('busy'), { apiId: 'CONCURRENT_TRANSACTIONS' });
    expect(isConcurrentTransactionsError(new AggregateError([protocol], 'Received response with error'))).toBe(true);
    expect(isConcurrentTransactionsError(Object.assign(new Error('x'), { response: { errorCode: 51 } }))).toBe(true);
  });

  it('is false for fencing and other errors', () => {
    expect(isConcurrentTransactionsError(Object.assign(new Error('x'), { type: 'PRODUCER_FENCED' }))).toBe(false);
    expect(isConcurrentTransactionsError(new AggregateError([new Error('timeout')], 'x'))).toBe(false);
  });
});

describe('a transaction whose abort is fenced', () => {
  // A KafkaJS producer stand-in: the commit fails, then the abort is refused with the given error.
  const producerFailingAbortWith = (abortErr: Error) =>
    ({
      producer: () => ({
        transaction: async () => ({
          sendBatch: async () => undefined,
          sendOffsets: async () => undefined,
          commit: async () => {
            throw Object.assign(new Error('busy'), { type: 'CONCURRENT_TRANSACTIONS' });
          },
          abort: async () => {
            throw abortErr;
          },
          isActive: () => true,
        }),
      }),
    }) as unknown as Kafka;
  const position = { groupId: 'g', topic: 't', partition: 0, lastOffset: '5' };
  const opts = { transactionalId: 'tx', transactionTimeoutMs: 1000, maxProduceBytes: 1024 };

  it('reports the fencing, not the error that led to the abort', async () => {
    const fenced = Object.assign(new Error('old epoch'), { type: 'INVALID_PRODUCER_EPOCH' });
    const producer = kafkajsTransactionalProducer(producerFailingAbortWith(fenced), opts);
    await expect(producer.commitBatch([], position)).rejects.toBe(fenced);
  });

  it('keeps the original error when the abort fails for another reason', async () => {
    const producer = kafkajsTransactionalProducer(producerFailingAbortWith(new Error('connection lost')), opts);
    const err = await producer.commitBatch([], position).catch((e: unknown) => e);
    expect(isConcurrentTransactionsError(err)).toBe(true);
    expect(isFencedError(err)).toBe(false);
  });
});
