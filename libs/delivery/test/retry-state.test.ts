import {
  decodeRetryState,
  encodeRetryState,
  foldRetryStates,
  parseRetryStateKey,
  retryStateKey,
  retryStatePartition,
} from '../src';

describe('retry state records', () => {
  it('keys name destination, partition and offset, and parse back', () => {
    const key = retryStateKey('orders-hook.v2', 11, 123456789);
    expect(key).toBe('orders-hook.v2/11/123456789');
    expect(parseRetryStateKey(key)).toEqual({ destinationId: 'orders-hook.v2', partition: 11, offset: 123456789 });
    for (const bad of ['', 'a/b', 'a/1', '/1/2', 'a/1/x', 'a/-1/2', 'a/1/2/3']) {
      expect(parseRetryStateKey(bad)).toBeNull();
    }
  });

  it('values round-trip; anything else reads as no state', () => {
    const s = { messageId: 'm-1', firstAttemptAt: 1_700_000_000_000, attempts: 3 };
    expect(decodeRetryState(encodeRetryState(s))).toEqual(s);
    expect(decodeRetryState(Buffer.from('not json'))).toBeNull();
    expect(decodeRetryState(Buffer.from('{"v":2,"messageId":"m","firstAttemptAt":1,"attempts":1}'))).toBeNull();
    expect(decodeRetryState(Buffer.from('{"v":1,"messageId":"m","firstAttemptAt":"1","attempts":1}'))).toBeNull();
  });

  it('maps destination partitions onto the state topic', () => {
    expect(retryStatePartition(3, 12)).toBe(3);
    expect(retryStatePartition(15, 12)).toBe(3);
  });

  it('folds records: last value wins, tombstones remove, other destinations and partitions are skipped', () => {
    const v = (messageId: string, attempts: number) => encodeRetryState({ messageId, firstAttemptAt: 100, attempts });
    const states = foldRetryStates(
      [
        { key: 'hook/0/10', value: v('a', 1) },
        { key: 'hook/0/11', value: v('b', 1) },
        { key: 'hook/0/10', value: v('a', 2) },
        { key: 'hook/0/11', value: null },
        { key: 'other/0/12', value: v('c', 1) },
        { key: 'hook/1/12', value: v('d', 1) },
        { key: 'hook/2/13', value: v('e', 1) },
        { key: null, value: v('f', 1) },
        { key: 'hook/1/14', value: Buffer.from('garbage') },
      ],
      'hook',
      new Set([0, 1]),
    );
    expect([...states.keys()]).toEqual([0, 1]);
    expect([...states.get(0)!]).toEqual([[10, { messageId: 'a', firstAttemptAt: 100, attempts: 2 }]]);
    expect([...states.get(1)!]).toEqual([[12, { messageId: 'd', firstAttemptAt: 100, attempts: 1 }]]);
  });
});
