import { packRecords, unpackRecords } from '../src/record-transfer';

describe('records handed between threads', () => {
  it('come back with the same keys and value bytes, in order', () => {
    const records = [
      { key: 'u:user-1', value: Buffer.from([1, 2, 3]) },
      { key: 'a:anon-ü', value: Buffer.alloc(0) },
      { key: '', value: Buffer.from('a longer value, as an Avro record would be') },
      // A slice of a larger pooled buffer: only its own bytes travel.
      { key: 'u:user-2', value: Buffer.from('xxpayloadyy').subarray(2, 9) },
    ];
    const msg = packRecords(records);
    expect(msg.values.byteLength).toBe(3 + 0 + 42 + 7);
    const back = unpackRecords(msg);
    expect(back.map((r) => [r.key, r.value.toString('hex')])).toEqual(
      records.map((r) => [r.key, r.value.toString('hex')]),
    );
  });

  it('survive a structured clone with the buffers transferred', () => {
    const records = Array.from({ length: 50 }, (_, i) => ({ key: `u:${i}`, value: Buffer.from(`value-${i}`) }));
    const msg = packRecords(records);
    const cloned = structuredClone(msg, { transfer: [msg.values, msg.lengths.buffer as ArrayBuffer] });
    expect(msg.values.byteLength).toBe(0); // detached: transferred, not copied
    expect(unpackRecords(cloned).map((r) => r.value.toString())).toEqual(records.map((r) => r.value.toString()));
  });
});
