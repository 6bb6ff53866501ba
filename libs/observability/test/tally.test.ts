import { Counter, Registry } from 'prom-client';
import { CounterTally } from '../src';

describe('CounterTally', () => {
  it('adds each label set once, only when flushed', async () => {
    const registry = new Registry();
    const events = new Counter({
      name: 'e_total',
      help: 'h',
      labelNames: ['source', 'outcome'],
      registers: [registry],
    });
    const routed = new Counter({ name: 'r_total', help: 'h', labelNames: ['destination'], registers: [registry] });
    const tally = new CounterTally();
    for (let i = 0; i < 5; i++) tally.add(events, { source: 'web', outcome: 'processed' });
    tally.add(events, { source: 'web', outcome: 'duplicate' }, 2);
    tally.add(routed, { destination: 'hooks' }, 3);
    expect((await events.get()).values).toEqual([]);

    tally.flush();
    tally.flush();
    const values = (await events.get()).values.map((v) => [v.labels.outcome, v.value]);
    expect(values).toEqual([
      ['processed', 5],
      ['duplicate', 2],
    ]);
    expect((await routed.get()).values.map((v) => v.value)).toEqual([3]);
  });
});
