import {
  checkCompatibility,
  type CompatibilityLevel,
  normaliseSchemaText,
  parseAvro,
  parseCompatibilityLevel,
  type PreviousSchema,
} from '../src/compatibility';
import type { Type } from 'avsc';

function avro(schema: unknown): Type {
  const parsed = parseAvro(JSON.stringify(schema));
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.type;
}

const user = (fields: unknown[]) => ({ type: 'record', name: 'User', namespace: 'sluice.test', fields });
const v1 = avro(user([{ name: 'id', type: 'string' }]));
const withDefault = avro(
  user([
    { name: 'id', type: 'string' },
    { name: 'age', type: 'int', default: 0 },
  ]),
);
const withoutDefault = avro(
  user([
    { name: 'id', type: 'string' },
    { name: 'age', type: 'int' },
  ]),
);

const prev = (...types: Type[]): PreviousSchema[] => types.map((type, i) => ({ version: i + 1, type }));
const compatible = (candidate: Type, previous: PreviousSchema[], level: CompatibilityLevel) =>
  checkCompatibility(candidate, previous, level).compatible;

describe('checkCompatibility', () => {
  it('accepts an added field with a default under BACKWARD', () => {
    expect(compatible(withDefault, prev(v1), 'BACKWARD')).toBe(true);
  });

  it('rejects an added field without a default under BACKWARD, naming the field', () => {
    const result = checkCompatibility(withoutDefault, prev(v1), 'BACKWARD');
    expect(result.compatible).toBe(false);
    expect(result.messages).toHaveLength(1);
    expect(result.messages[0]).toMatch(/version 1/);
    expect(result.messages[0]).toMatch(/age/);
  });

  it('accepts an added field without a default under FORWARD (old readers ignore it)', () => {
    expect(compatible(withoutDefault, prev(v1), 'FORWARD')).toBe(true);
  });

  it('rejects a removed field without a default under FORWARD but accepts it under BACKWARD', () => {
    // Old readers (withoutDefault) need "age", which the new schema (v1) no longer writes.
    expect(compatible(v1, prev(withoutDefault), 'FORWARD')).toBe(false);
    expect(compatible(v1, prev(withoutDefault), 'BACKWARD')).toBe(true);
  });

  it('accepts removing a field that had a default under FULL', () => {
    expect(compatible(v1, prev(withDefault), 'FULL')).toBe(true);
    expect(compatible(withoutDefault, prev(v1), 'FULL')).toBe(false);
  });

  it('allows promotion int -> long for BACKWARD but not FORWARD', () => {
    const asInt = avro(user([{ name: 'n', type: 'int' }]));
    const asLong = avro(user([{ name: 'n', type: 'long' }]));
    expect(compatible(asLong, prev(asInt), 'BACKWARD')).toBe(true);
    expect(compatible(asLong, prev(asInt), 'FORWARD')).toBe(false);
    expect(compatible(asInt, prev(asLong), 'BACKWARD')).toBe(false);
  });

  it('rejects a type change that has no promotion', () => {
    const asString = avro(user([{ name: 'n', type: 'string' }]));
    const asInt = avro(user([{ name: 'n', type: 'int' }]));
    expect(compatible(asInt, prev(asString), 'BACKWARD')).toBe(false);
  });

  it('treats enum symbol removal as breaking BACKWARD and addition as breaking FORWARD', () => {
    const ab = avro({ type: 'enum', name: 'Plan', symbols: ['FREE', 'PRO'] });
    const a = avro({ type: 'enum', name: 'Plan', symbols: ['FREE'] });
    expect(compatible(a, prev(ab), 'BACKWARD')).toBe(false);
    expect(compatible(ab, prev(a), 'BACKWARD')).toBe(true);
    expect(compatible(ab, prev(a), 'FORWARD')).toBe(false);
  });

  it('rejects a renamed record without an alias', () => {
    const other = avro({
      type: 'record',
      name: 'Person',
      namespace: 'sluice.test',
      fields: [{ name: 'id', type: 'string' }],
    });
    expect(compatible(other, prev(v1), 'BACKWARD')).toBe(false);
  });

  it('checks only the latest version for non-transitive levels, all of them for *_TRANSITIVE', () => {
    // v1 {id}; v2 {id, age default}; v3 {id, age without default}:
    // v3 reads v2 data (age present) but not v1 data (no age, no default).
    const history = prev(v1, withDefault);
    expect(compatible(withoutDefault, history, 'BACKWARD')).toBe(true);
    const transitive = checkCompatibility(withoutDefault, history, 'BACKWARD_TRANSITIVE');
    expect(transitive.compatible).toBe(false);
    expect(transitive.messages.join()).toMatch(/version 1/);
    expect(transitive.messages.join()).not.toMatch(/version 2/);
  });

  it('FORWARD_TRANSITIVE and FULL_TRANSITIVE look at every version', () => {
    const a = avro(
      user([
        { name: 'id', type: 'string' },
        { name: 'x', type: 'int' },
      ]),
    );
    const b = avro(
      user([
        { name: 'id', type: 'string' },
        { name: 'x', type: 'int', default: 1 },
      ]),
    );
    // The candidate drops x: v2 (b) can read it (default), v1 (a) cannot.
    expect(compatible(v1, prev(a, b), 'FORWARD')).toBe(true);
    expect(compatible(v1, prev(a, b), 'FORWARD_TRANSITIVE')).toBe(false);
    expect(compatible(v1, prev(a, b), 'FULL')).toBe(true);
    expect(compatible(v1, prev(a, b), 'FULL_TRANSITIVE')).toBe(false);
  });

  it('accepts anything under NONE and when there is no earlier version', () => {
    const str = avro('string');
    expect(compatible(str, prev(v1), 'NONE')).toBe(true);
    expect(compatible(withoutDefault, [], 'FULL_TRANSITIVE')).toBe(true);
  });

  it('accepts widening a field to a union that contains its type under BACKWARD', () => {
    const nullable = avro(user([{ name: 'id', type: ['null', 'string'] }]));
    expect(compatible(nullable, prev(v1), 'BACKWARD')).toBe(true);
    expect(compatible(v1, prev(nullable), 'BACKWARD')).toBe(false);
  });
});

describe('parseAvro', () => {
  it('rejects invalid JSON, unknown types, bad defaults and anonymous records', () => {
    expect(parseAvro('{bad').ok).toBe(false);
    expect(parseAvro(JSON.stringify(user([{ name: 'a', type: 'nope' }]))).ok).toBe(false);
    expect(parseAvro(JSON.stringify(user([{ name: 'a', type: 'int', default: 'x' }]))).ok).toBe(false);
    expect(parseAvro(JSON.stringify({ type: 'record', fields: [] })).ok).toBe(false);
  });

  it('resolves named types from referenced schemas', () => {
    const address = JSON.stringify({
      type: 'record',
      name: 'Address',
      namespace: 'x',
      fields: [{ name: 'city', type: 'string' }],
    });
    const person = JSON.stringify({
      type: 'record',
      name: 'Person',
      namespace: 'x',
      fields: [{ name: 'home', type: 'x.Address' }],
    });
    expect(parseAvro(person).ok).toBe(false);
    const parsed = parseAvro(person, [address]);
    expect(parsed.ok).toBe(true);
    if (parsed.ok)
      expect(parsed.type.fromBuffer(parsed.type.toBuffer({ home: { city: 'Oslo' } }))).toEqual({
        home: { city: 'Oslo' },
      });
  });
});

describe('normaliseSchemaText', () => {
  it('ignores whitespace and key order but keeps docs, defaults and logical types', () => {
    const a =
      '{ "name": "E", "type": "record", "fields": [ {"type": "int", "name": "n", "default": 1, "doc": "d"},' +
      ' {"name": "t", "type": {"type": "long", "logicalType": "timestamp-millis"}} ] }';
    const b =
      '{"type":"record","name":"E","fields":[{"name":"n","doc":"d","type":{"type":"int"},"default":1},' +
      '{"name":"t","type":{"logicalType":"timestamp-millis","type":"long"}}]}';
    expect(normaliseSchemaText(a)).toBe(normaliseSchemaText(b));
    expect(normaliseSchemaText(a)).toBe(
      '{"type":"record","name":"E","fields":[{"name":"n","type":"int","doc":"d","default":1},' +
        '{"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}}]}',
    );
  });

  it('does not treat a different default as the same schema', () => {
    const a = JSON.stringify(user([{ name: 'n', type: 'int', default: 1 }]));
    const b = JSON.stringify(user([{ name: 'n', type: 'int', default: 2 }]));
    expect(normaliseSchemaText(a)).not.toBe(normaliseSchemaText(b));
  });

  it('leaves default values untouched, even objects that look like schemas', () => {
    const s = JSON.stringify(user([{ name: 'm', type: { type: 'map', values: 'string' }, default: { type: 'x' } }]));
    expect(JSON.parse(normaliseSchemaText(s)).fields[0].default).toEqual({ type: 'x' });
  });
});

describe('parseCompatibilityLevel', () => {
  it('accepts known levels in any case and nothing else', () => {
    expect(parseCompatibilityLevel('full_transitive')).toBe('FULL_TRANSITIVE');
    expect(parseCompatibilityLevel('BACKWARD')).toBe('BACKWARD');
    expect(parseCompatibilityLevel('SIDEWAYS')).toBeUndefined();
    expect(parseCompatibilityLevel(3)).toBeUndefined();
  });
});
