import { isConcurrentTransactionsError, isFencedError } from '../src';

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
