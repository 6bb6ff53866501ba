import { identityEdges } from '../src';

describe('identityEdges', () => {
  it('identify links anonymousId and userId', () => {
    const edges = identityEdges(
      {
        type: 'identify',
        messageId: 'm1',
        anonymousId: 'anon-1',
        userId: 'user-1',
        timestamp: '2026-11-22T01:02:03.000Z',
      },
      'web',
      0,
    );
    expect(edges).toEqual([
      {
        leftType: 'anonymous_id',
        leftValue: 'anon-1',
        rightType: 'user_id',
        rightValue: 'user-1',
        messageId: 'm1',
        sourceId: 'web',
        observedAt: '2026-11-22T01:02:03.000Z',
      },
    ]);
  });

  it('alias links previousId and userId', () => {
    const edges = identityEdges(
      { type: 'alias', messageId: 'm2', previousId: 'old', userId: 'new', receivedAt: '2026-11-22T00:00:00Z' },
      'app',
      0,
    );
    expect(edges).toEqual([
      {
        leftType: 'user_id',
        leftValue: 'old',
        rightType: 'user_id',
        rightValue: 'new',
        messageId: 'm2',
        sourceId: 'app',
        observedAt: '2026-11-22T00:00:00.000Z',
      },
    ]);
  });

  it('gives no edge when a side is missing, for self-links or other types', () => {
    expect(identityEdges({ type: 'identify', userId: 'u' }, 's', 0)).toEqual([]);
    expect(identityEdges({ type: 'identify', anonymousId: 'a', userId: '' }, 's', 0)).toEqual([]);
    expect(identityEdges({ type: 'alias', previousId: 'u', userId: 'u' }, 's', 0)).toEqual([]);
    expect(identityEdges({ type: 'track', anonymousId: 'a', userId: 'u' }, 's', 0)).toEqual([]);
  });

  it('falls back to the processing time', () => {
    const [edge] = identityEdges(
      { type: 'identify', anonymousId: 'a', userId: 7 as unknown as string },
      's',
      Date.UTC(2026, 0, 1),
    );
    expect(edge.observedAt).toBe('2026-01-01T00:00:00.000Z');
    expect(edge.rightValue).toBe('7');
  });
});
