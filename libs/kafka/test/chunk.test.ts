import { chunkBySize, OutputRecord } from '../src';

const rec = (bytes: number): OutputRecord => ({ topic: 't', message: { key: null, value: Buffer.alloc(bytes) } });

describe('chunkBySize', () => {
  it('keeps order and splits before a chunk would pass the limit', () => {
    const records = [rec(300), rec(300), rec(300), rec(300)];
    const chunks = chunkBySize(records, 800);
    expect(chunks.map((c) => c.length)).toEqual([2, 2]);
    expect(chunks.flat()).toEqual(records);
  });
  it('puts a record larger than the limit in a chunk of its own', () => {
    expect(chunkBySize([rec(10), rec(5000), rec(10)], 1000).map((c) => c.length)).toEqual([1, 1, 1]);
  });
  it('yields nothing for nothing', () => {
    expect(chunkBySize([], 1000)).toEqual([]);
  });
});
