import { collapseByKey, mergeRow, overlay } from '../src';

describe('users merge', () => {
  it('overlays non-null fields', () => {
    expect(overlay({ a: 1, b: 2 }, { b: 3, c: null, d: 4 })).toEqual({ a: 1, b: 3, d: 4 });
  });
  it('collapses rows per key, newest received_at last', () => {
    const out = collapseByKey(
      [
        { id: 'u1', received_at: '2026-11-22T02:00:00Z', plan: 'pro' },
        { id: 'u2', received_at: '2026-11-22T01:00:00Z', plan: 'free' },
        { id: 'u1', received_at: '2026-11-22T01:00:00Z', plan: 'free', email: 'a@b' },
        { received_at: '2026-11-22T01:00:00Z', plan: 'no key' },
      ],
      'id',
      'received_at',
    );
    expect(Object.fromEntries(out)).toEqual({
      u1: { id: 'u1', received_at: '2026-11-22T02:00:00Z', plan: 'pro', email: 'a@b' },
      u2: { id: 'u2', received_at: '2026-11-22T01:00:00Z', plan: 'free' },
    });
  });
  it('keeps a stored row newer than the incoming one on top', () => {
    const stored = { id: 'u', received_at: '2026-11-22T05:00:00.000Z', plan: 'pro' };
    expect(
      mergeRow(stored, { id: 'u', received_at: '2026-11-22T01:00:00.000Z', plan: 'free', email: 'e' }, 'received_at'),
    ).toEqual({
      id: 'u',
      received_at: '2026-11-22T05:00:00.000Z',
      plan: 'pro',
      email: 'e',
    });
    expect(
      mergeRow(stored, { id: 'u', received_at: '2026-11-22T06:00:00.000Z', plan: 'team' }, 'received_at').plan,
    ).toBe('team');
  });
});
