/**
 * Offset ranges carried in the commit metadata of a partition: which offsets
 * above the committed watermark were already finished (delivered or
 * dead-lettered). After a restart or rebalance they are read again and
 * delivered again; the ranges let the next owner count those redeliveries.
 */
export type OffsetRange = [number, number];

const PREFIX = 'sluice-done:';

/** Encodes ranges as `sluice-done:a-b,c-d`, dropping the tail past maxChars (only counting suffers). */
export function encodeRanges(ranges: OffsetRange[], maxChars = 3000): string {
  let out = PREFIX;
  let first = true;
  for (const [a, b] of ranges) {
    const part = a === b ? `${a}` : `${a}-${b}`;
    if (out.length + part.length + 1 > maxChars) break;
    out += first ? part : `,${part}`;
    first = false;
  }
  return out;
}

export function decodeRanges(metadata: string | null | undefined): OffsetRange[] {
  if (!metadata || !metadata.startsWith(PREFIX)) return [];
  const body = metadata.slice(PREFIX.length);
  if (body === '') return [];
  const out: OffsetRange[] = [];
  for (const part of body.split(',')) {
    const [a, b] = part.split('-');
    const lo = Number(a);
    const hi = b === undefined ? lo : Number(b);
    if (Number.isSafeInteger(lo) && Number.isSafeInteger(hi) && hi >= lo) out.push([lo, hi]);
  }
  return out.sort((x, y) => x[0] - y[0]);
}

export function inRanges(ranges: OffsetRange[], offset: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid];
    if (offset < a) hi = mid - 1;
    else if (offset > b) lo = mid + 1;
    else return true;
  }
  return false;
}
