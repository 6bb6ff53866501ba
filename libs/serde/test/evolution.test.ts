import { fromEnvelope, toEnvelope } from '@sluice/events';
import { avroType, loadSchema, SCHEMA_NAMES } from '../src';

const v1 = loadSchema('event-envelope');
/** What a later Sluice might write: a field added with a default. */
const v2 = {
  ...v1,
  fields: [...v1.fields, { name: 'botScore', type: ['null', 'double'], default: null }],
};

const sample = toEnvelope(
  {
    type: 'identify',
    messageId: 'id-1',
    userId: 'u-1',
    traits: { email: 'ü@example.com', nested: { a: [1, 2, { b: null }] } },
    receivedAt: '2026-03-01T10:00:00.000Z',
    timestamp: '2026-03-01T09:59:59.000Z',
  },
  { sourceId: 'web' },
);

describe('Avro schema evolution', () => {
  it('every shipped schema parses', () => {
    for (const name of SCHEMA_NAMES) expect(() => avroType(loadSchema(name))).not.toThrow();
  });

  it('a reader with the older schema reads records written with the newer one', () => {
    const writer = avroType(v2);
    const reader = avroType(v1);
    const buf = writer.toBuffer({ ...sample, botScore: 0.25 });
    const read = reader.fromBuffer(buf, reader.createResolver(writer));
    expect(read).toEqual(sample);
    expect(fromEnvelope(read).traits).toEqual({ email: 'ü@example.com', nested: { a: [1, 2, { b: null }] } });
  });

  it('a reader with the newer schema fills the added field with its default', () => {
    const writer = avroType(v1);
    const reader = avroType(v2);
    const read = reader.fromBuffer(writer.toBuffer(sample), reader.createResolver(writer)) as Record<string, unknown>;
    expect(read.botScore).toBeNull();
    expect(read.messageId).toBe('id-1');
  });

  it('removing a field without a default breaks older readers (the rule we forbid)', () => {
    const broken = { ...v1, fields: v1.fields.filter((f) => f.name !== 'sourceId') };
    const reader = avroType(v1);
    expect(() => reader.createResolver(avroType(broken))).toThrow(/sourceId/);
  });
});
