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

  it('keeps label sets apart that share values under other names or in another order', async () => {
    const registry = new Registry();
    const moves = new Counter({ name: 'm_total', help: 'h', labelNames: ['from', 'to'], registers: [registry] });
    const tally = new CounterTally();
    tally.add(moves, { from: 'a', to: 'b' });
    tally.add(moves, { to: 'a', from: 'b' });
    tally.add(moves, { to: 'b', from: 'a' });
    tally.flush();
    const values = (await moves.get()).values.map((v) => `${v.labels.from}>${v.labels.to}=${v.value}`).sort();
    expect(values).toEqual(['a>b=2', 'b>a=1']);
  });
});
