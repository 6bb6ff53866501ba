import { Partitioners } from 'kafkajs';
import { javaPartition } from '../src/partitioner';

describe('javaPartition', () => {
  it("puts every key where KafkaJS's default (Java-compatible) partitioner puts it", () => {
    const kafkajs = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: 64 }, (_, i) => ({
      partitionId: i,
      partitionErrorCode: 0,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
    }));
    const keys = [
      '',
      'a',
      'ab',
      'abc',
      'abcd',
      'a:anon-1',
      'u:user-42',
      'ü-ñ-☃',
      ...Array.from({ length: 500 }, (_, i) => `a:${i * 7919}-${i}`),
    ];
    for (const key of keys) {
      for (const n of [1, 7, 12, 64]) {
        const expected = kafkajs({
          topic: 't',
          partitionMetadata: partitionMetadata.slice(0, n),
          message: { key, value: null },
        });
        expect({ key, n, p: javaPartition(Buffer.from(key), n) }).toEqual({ key, n, p: expected });
      }
    }
  });
});
