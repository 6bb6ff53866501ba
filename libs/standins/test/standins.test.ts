import { startStandIn, startWebhookReceiver } from '../src';

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

describe('stand-in server controls', () => {
  it('records requests; failNext answers in order with the vendor error body, then recovers', async () => {
    const s = await startStandIn({
      name: 'test',
      handle: (req) => ({ status: 200, body: { echo: req.json }, accepted: true }),
      errorBody: (status) => ({ vendorError: status }),
    });
    try {
      s.failNext(1, { status: 503 });
      s.failNext(1, { status: 500, body: 'custom' });
      s.rateLimitNext(1, 9);
      expect(await post(`${s.url}/a?x=1`, { n: 1 })).toMatchObject({ status: 503, body: '{"vendorError":503}' });
      expect(await post(`${s.url}/a`, { n: 2 })).toMatchObject({ status: 500, body: 'custom' });
      const limited = await post(`${s.url}/a`, { n: 3 });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('9');
      expect(await post(`${s.url}/a`, { n: 4 })).toMatchObject({ status: 200, body: '{"echo":{"n":4}}' });
      expect(s.requests).toHaveLength(4);
      expect(s.requests[0]).toMatchObject({
        method: 'POST',
        path: '/a',
        query: { x: '1' },
        rawQuery: 'x=1',
        json: { n: 1 },
      });
      expect(s.received.map((r) => r.json)).toEqual([{ n: 4 }]);
    } finally {
      await s.close();
    }
  });

  it('down resets connections; delay slows answers; reset forgets', async () => {
    const s = await startWebhookReceiver();
    try {
      s.setDown(true);
      await expect(post(s.url, {})).rejects.toThrow();
      s.setDown(false);
      s.setDelay(150);
      const t0 = Date.now();
      expect((await post(s.url, {})).status).toBe(200);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
      s.reset();
      expect(s.received).toHaveLength(0);
    } finally {
      await s.close();
    }
  });
});
