/**
 * Kafka's own (Java) partitioner: murmur2 of the key bytes, made positive, modulo the
 * partition count. KafkaJS's DefaultPartitioner does the same, so every Sluice producer,
 * whichever client it uses, puts a user's events on the same partition.
 */
export function murmur2(key: Buffer): number {
  const m = 0x5bd1e995;
  const len = key.length;
  let h = (0x9747b28c ^ len) | 0;
  const end = len - (len % 4);
  for (let i = 0; i < end; i += 4) {
    let k = (key[i] & 0xff) | ((key[i + 1] & 0xff) << 8) | ((key[i + 2] & 0xff) << 16) | ((key[i + 3] & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = len % 4;
  if (tail === 3) h ^= (key[end + 2] & 0xff) << 16;
  if (tail >= 2) h ^= (key[end + 1] & 0xff) << 8;
  if (tail >= 1) {
    h ^= key[end] & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

export function javaPartition(key: Buffer, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}
