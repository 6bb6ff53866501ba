import type { OutRecord } from './batcher';

/** Records as they cross between threads: keys, value lengths, and the values in one transferable buffer. */
export interface PackedRecords {
  keys: string[];
  lengths: Uint32Array;
  values: ArrayBuffer;
}

/** Records → one buffer of values (transferred, not copied, to the thread), their lengths and keys. */
export function packRecords(records: readonly OutRecord[]): PackedRecords {
  const lengths = new Uint32Array(records.length);
  const keys = new Array<string>(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    lengths[i] = records[i].value.length;
    keys[i] = records[i].key;
    total += lengths[i];
  }
  const values = new ArrayBuffer(total);
  const view = new Uint8Array(values);
  let at = 0;
  for (const r of records) {
    view.set(r.value, at);
    at += r.value.length;
  }
  return { keys, lengths, values };
}

/** The inverse of packRecords, without copying the values. */
export function unpackRecords(msg: PackedRecords): OutRecord[] {
  const out = new Array<OutRecord>(msg.keys.length);
  let at = 0;
  for (let i = 0; i < msg.keys.length; i++) {
    out[i] = { key: msg.keys[i], value: Buffer.from(msg.values, at, msg.lengths[i]) };
    at += msg.lengths[i];
  }
  return out;
}
