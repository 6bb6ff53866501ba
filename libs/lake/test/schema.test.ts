import { canonicalTimestampMillis, coerce, evolveSchema, inferType, parseTimestamp, Row } from '../src';

const opts = { table: 't', uuidTs: '2026-11-22T03:00:00.000Z' };

describe('inferType', () => {
  it('infers boolean, int, float, timestamp and string', () => {
    expect(inferType(true)).toBe('boolean');
    expect(inferType(3)).toBe('int');
    expect(inferType(3.5)).toBe('float');
    expect(inferType(2 ** 60)).toBe('float');
    expect(inferType('2026-11-22T01:02:03Z')).toBe('timestamp');
    expect(inferType('2026-11-22T01:02:03.123456+02:00')).toBe('timestamp');
    expect(inferType('2026-11-22 01:02:03')).toBe('timestamp');
    expect(inferType('2026-11-22')).toBe('string');
    expect(inferType('2026-13-45T99:99:99Z')).toBe('string');
    expect(inferType('hello')).toBe('string');
  });
  it('parses timestamps without a zone as UTC and cuts sub-millisecond digits', () => {
    expect(parseTimestamp('2026-11-22T01:02:03')).toBe(Date.parse('2026-11-22T01:02:03Z'));
    expect(parseTimestamp('2026-11-22T01:02:03.123456Z')).toBe(Date.parse('2026-11-22T01:02:03.123Z'));
    expect(parseTimestamp('2026-11-22T03:02:03+02:00')).toBe(Date.parse('2026-11-22T01:02:03Z'));
  });
});

describe('canonicalTimestampMillis', () => {
  it('agrees with Date.parse on toISOString values from year 0 to 9999, leap days included', () => {
    // A deterministic walk over the whole 4-digit-year range with odd steps, so every month,
    // day, hour and millisecond position is hit.
    const from = Date.parse('0000-01-01T00:00:00.000Z');
    const to = Date.parse('9999-12-31T23:59:59.999Z');
    const step = Math.floor((to - from) / 20011) + 7919;
    let checked = 0;
    for (let ms = from; ms <= to; ms += step) {
      const iso = new Date(ms).toISOString();
      expect(canonicalTimestampMillis(iso)).toBe(ms);
      checked++;
    }
    expect(checked).toBeGreaterThan(20000);
    for (const leap of ['2024-02-29T23:59:59.999Z', '2000-02-29T00:00:00.000Z', '1600-02-29T12:00:00.000Z'])
      expect(canonicalTimestampMillis(leap)).toBe(Date.parse(leap));
  });
  it('gives what Date.parse gives for dates out of the usual ranges, and NaN for other shapes', () => {
    for (const odd of [
      '2023-02-29T00:00:00.000Z', // not a leap year
      '1900-02-29T00:00:00.000Z',
      '2024-04-31T00:00:00.000Z',
      '2024-01-01T24:00:00.000Z',
      '2024-13-01T00:00:00.000Z',
      '2024-01-01T00:00:60.000Z',
      '2024-01-01T00:60:00.000Z',
      '2024-00-10T00:00:00.000Z',
      '2024-01-00T00:00:00.000Z',
    ])
      expect(canonicalTimestampMillis(odd)).toEqual(Date.parse(odd));
    for (const other of [
      '2024-01-01T00:00:00Z',
      '2024-01-01 00:00:00.000Z',
      '2024-01-01T00:00:00.000+',
      'x'.repeat(24),
    ])
      expect(canonicalTimestampMillis(other)).toBeNaN();
    expect(canonicalTimestampMillis('2024-01-0aT00:00:00.000Z')).toBeNaN();
  });
});

describe('coerce', () => {
  it('follows the rules: same type, int into float, anything into string', () => {
    expect(coerce(1, 'float')).toEqual({ ok: true, value: 1 });
    expect(coerce(true, 'string')).toEqual({ ok: true, value: 'true' });
    expect(coerce(1.5, 'string')).toEqual({ ok: true, value: '1.5' });
    expect(coerce('2026-11-22T01:02:03+01:00', 'timestamp')).toEqual({ ok: true, value: '2026-11-22T00:02:03.000Z' });
    expect(coerce('x', 'int')).toEqual({ ok: false });
    expect(coerce(1, 'boolean')).toEqual({ ok: false });
    expect(coerce('yes', 'boolean')).toEqual({ ok: false });
    expect(coerce('soon', 'timestamp')).toEqual({ ok: false });
    expect(coerce(1.5, 'int')).toEqual({ ok: false });
  });
});

describe('evolveSchema', () => {
  it('adds columns typed by their first value, standard columns by their fixed type', () => {
    const rows: Row[] = [
      { id: 'a', received_at: '2026-11-22T01:00:00Z', n: 1, ok: true, when: '2026-11-22T01:00:00Z', s: 'x' },
      { id: 'b', extra: 2.5 },
    ];
    const out = evolveSchema({}, rows, opts);
    expect(out.newSchema).toEqual({
      id: 'string',
      received_at: 'timestamp',
      n: 'int',
      ok: 'boolean',
      when: 'timestamp',
      s: 'string',
      extra: 'float',
    });
    expect(out.schemaChanges.map((c) => c.column)).toEqual(['id', 'received_at', 'n', 'ok', 'when', 's', 'extra']);
    expect(out.coercedRows[0]!.received_at).toBe('2026-11-22T01:00:00.000Z');
    expect(out.discards).toEqual([]);
  });

  it('keeps an id column a string even when the first id is a number', () => {
    const out = evolveSchema({}, [{ id: 7 }], opts);
    expect(out.newSchema.id).toBe('string');
    expect(out.coercedRows[0]).toEqual({ id: '7' });
  });

  it('widens an existing int column to float', () => {
    const out = evolveSchema({ n: 'int' }, [{ n: 1 }, { n: 2.5 }], opts);
    expect(out.newSchema).toEqual({ n: 'float' });
    expect(out.schemaChanges).toEqual([{ kind: 'widen', column: 'n', from: 'int', to: 'float' }]);
    expect(out.coercedRows).toEqual([{ n: 1 }, { n: 2.5 }]);
  });

  it('types a column added and widened in one batch as float without a widen change', () => {
    const out = evolveSchema({}, [{ n: 1 }, { n: 2.5 }], opts);
    expect(out.schemaChanges).toEqual([{ kind: 'add', column: 'n', type: 'float' }]);
  });

  it('stringifies anything into a string column', () => {
    const out = evolveSchema({ s: 'string' }, [{ s: 1 }, { s: false }, { s: '2026-11-22T01:00:00Z' }], opts);
    expect(out.coercedRows).toEqual([{ s: '1' }, { s: 'false' }, { s: '2026-11-22T01:00:00Z' }]);
    expect(out.schemaChanges).toEqual([]);
  });

  it('nulls values that cannot be coerced and records a discard row', () => {
    const out = evolveSchema(
      { n: 'int', b: 'boolean' },
      [{ id: 'r1', received_at: '2026-11-22T01:00:00Z', n: 'many', b: 'yes', keep: 'k' }],
      opts,
    );
    expect(out.coercedRows).toEqual([{ id: 'r1', received_at: '2026-11-22T01:00:00.000Z', keep: 'k' }]);
    expect(out.discards).toEqual([
      {
        table_name: 't',
        row_id: 'r1',
        column_name: 'n',
        column_value: 'many',
        received_at: '2026-11-22T01:00:00.000Z',
        uuid_ts: opts.uuidTs,
        reason: 'cannot coerce string to int',
      },
      {
        table_name: 't',
        row_id: 'r1',
        column_name: 'b',
        column_value: 'yes',
        received_at: '2026-11-22T01:00:00.000Z',
        uuid_ts: opts.uuidTs,
        reason: 'cannot coerce string to boolean',
      },
    ]);
  });

  it('discards a bad value of a fixed-type column', () => {
    const out = evolveSchema({}, [{ id: 'r', sent_at: 'yesterday' }], opts);
    expect(out.newSchema.sent_at).toBe('timestamp');
    expect(out.discards.map((d) => [d.column_name, d.column_value])).toEqual([['sent_at', 'yesterday']]);
  });

  it('caps the columns of a table and discards the fields past it', () => {
    const row: Row = { id: 'r' };
    for (let i = 0; i < 10; i++) row[`c${i}`] = i;
    const out = evolveSchema({ a: 'string' }, [row], { ...opts, maxColumns: 5 });
    expect(Object.keys(out.newSchema)).toEqual(['a', 'id', 'c0', 'c1', 'c2']);
    expect(out.discards).toHaveLength(7);
    expect(out.discards[0]).toMatchObject({
      column_name: 'c3',
      column_value: '3',
      reason: 'column limit of 5 reached for table t',
    });
    expect(out.coercedRows[0]).toEqual({ id: 'r', c0: 0, c1: 1, c2: 2 });
  });

  it('caps at 200 columns by default', () => {
    const row: Row = {};
    for (let i = 0; i < 250; i++) row[`c${i}`] = 'v';
    const out = evolveSchema({}, [row], opts);
    expect(Object.keys(out.newSchema)).toHaveLength(200);
    expect(out.discards).toHaveLength(50);
  });

  it('does not change its inputs', () => {
    const current = { n: 'int' } as const;
    const rows: Row[] = [{ n: 1.5 }];
    evolveSchema(current, rows, opts);
    expect(current).toEqual({ n: 'int' });
    expect(rows).toEqual([{ n: 1.5 }]);
  });
});
