import { Counter } from 'prom-client';
import { createLogger, createMetricsRegistry, Lifecycle, startOpsServer } from '../src';

describe('ops server', () => {
  it('serves metrics and reflects readiness', async () => {
    const registry = createMetricsRegistry('unit');
    const counter = new Counter({ name: 'sluice_unit_things_total', help: 'things', registers: [registry] });
    counter.inc(3);
    let ready = false;
    const server = await startOpsServer(0, registry, () => ready);
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const metrics = await (await fetch(`${base}/metrics`)).text();
      expect(metrics).toMatch(/sluice_unit_things_total\{service="unit"\} 3/);
      expect((await fetch(`${base}/health/ready`)).status).toBe(503);
      ready = true;
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      expect((await fetch(`${base}/health/live`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});

describe('ops server metrics failures', () => {
  it('answers 500 with the reason when collecting fails (a cluster worker not answering), and keeps serving', async () => {
    const registry = createMetricsRegistry('unit');
    let fail = true;
    const collect = registry.metrics.bind(registry);
    registry.metrics = () => (fail ? Promise.reject(new Error('Operation timed out.')) : collect());
    const server = await startOpsServer(0, registry, () => true);
    try {
      const base = `http://127.0.0.1:${server.port}`;
      const failed = await fetch(`${base}/metrics`);
      expect(failed.status).toBe(500);
      expect(await failed.json()).toEqual({ error: 'Operation timed out.' });
      fail = false;
      const ok = await fetch(`${base}/metrics`);
      expect(ok.status).toBe(200);
      expect(await ok.text()).toMatch(/process_cpu_user_seconds_total/);
    } finally {
      await server.close();
    }
  });
});

describe('Lifecycle', () => {
  it('stops steps in reverse order of start, once', async () => {
    const order: string[] = [];
    const lc = new Lifecycle(createLogger('unit', 'silent'));
    lc.add('consumer', async () => void order.push('consumer'));
    lc.add('producer', async () => void order.push('producer'));
    lc.add('http', async () => void order.push('http'));
    await Promise.all([lc.stop(), lc.stop()]);
    expect(order).toEqual(['http', 'producer', 'consumer']);
  });

  it('on a fatal error stops everything in reverse, then exits with status 1, once', async () => {
    const order: string[] = [];
    const exits: number[] = [];
    const lc = new Lifecycle(createLogger('unit', 'silent'));
    lc.add('consumer', async () => void order.push('consumer'));
    lc.add('http', async () => void order.push('http'));
    lc.fatal('fenced', {}, 60_000, (code) => exits.push(code));
    lc.fatal('fenced again', {}, 60_000, (code) => exits.push(code));
    await lc.stop();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['http', 'consumer']);
    expect(exits).toEqual([1]);
  });

  it('on a fatal error exits with status 1 after the grace period when a stop hangs', async () => {
    const exits: number[] = [];
    const lc = new Lifecycle(createLogger('unit', 'silent'));
    lc.add('stuck', () => new Promise<void>(() => undefined));
    lc.fatal('fenced', {}, 50, (code) => exits.push(code));
    await new Promise((r) => setTimeout(r, 200));
    expect(exits).toEqual([1]);
  });
});
