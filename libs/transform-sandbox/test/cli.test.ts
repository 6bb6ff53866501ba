import path from 'node:path';
import { parseCliArgs, runCli } from '../src/cli';

const ex = (f: string) => path.join(__dirname, '..', 'examples', f);

describe('transformation CLI', () => {
  it('parses arguments and rejects bad ones', () => {
    expect(
      parseCliArgs([
        't.js',
        'e.json',
        '--lib',
        'a=b.js',
        '--metadata',
        '{"sourceId":"web"}',
        '--time-limit',
        '100',
        '--memory-limit',
        '64',
      ]),
    ).toEqual({
      transformationFile: 't.js',
      eventsFile: 'e.json',
      libraries: [{ name: 'a', file: 'b.js' }],
      metadata: { sourceId: 'web' },
      options: { timeLimitMs: 100, memoryLimitBytes: 64 * 1024 * 1024 },
    });
    expect(parseCliArgs(['only-one.js'])).toHaveProperty('error');
    expect(parseCliArgs(['t.js', 'e.json', '--lib', 'nofile'])).toEqual({
      error: '--lib expects name=file, got "nofile"',
    });
    expect(parseCliArgs(['t.js', 'e.json', '--bogus'])).toHaveProperty('error');
  });

  it('runs the example transformation on the example events', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runCli(
      [
        ex('lowercase.js'),
        ex('events.json'),
        '--lib',
        `text-utils=${ex('text-utils.js')}`,
        '--metadata',
        '{"sourceId":"web"}',
      ],
      { out: (t) => out.push(t), err: (t) => err.push(t) },
    );
    expect(code).toBe(0);
    const printed = JSON.parse(out.join('\n')) as {
      results: { kind: string; events?: { event: string; properties: Record<string, unknown> }[] }[];
    };
    expect(printed.results.map((r) => r.kind)).toEqual(['ok', 'drop']);
    expect(printed.results[0].events?.[0]).toMatchObject({
      event: 'order completed',
      properties: { event_slug: 'order-completed', source: 'web' },
    });
    expect(err).toEqual(['log: transformed m-1']);
  }, 30_000);

  it('exits 2 on unreadable input and 1 when the code cannot load', async () => {
    const io = { out: () => undefined, err: () => undefined };
    expect(await runCli(['/nonexistent.js', ex('events.json')], io)).toBe(2);
    expect(await runCli([ex('lowercase.js'), ex('events.json')], io)).toBe(1);
  }, 30_000);
});
