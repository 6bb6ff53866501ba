import { RegistryError } from '../src/errors';
import { type LogRecord, type Outcome, recordKey, RegistryState } from '../src/state';
import { type LogBackend, MemoryLog, SchemaStore } from '../src/store';

const user = (...extra: object[]) =>
  JSON.stringify({
    type: 'record',
    name: 'User',
    namespace: 'sluice.test',
    fields: [{ name: 'id', type: 'string' }, ...extra],
  });
const v1 = user();
const v2 = user({ name: 'age', type: 'int', default: 0 });
const breaking = user({ name: 'email', type: 'string' });

async function rejection(p: Promise<unknown>): Promise<RegistryError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof RegistryError) return err;
    throw err;
  }
  throw new Error('expected a RegistryError');
}

/** One shared log and several replicas applying it in order, like instances tailing one partition. */
class SharedLog {
  readonly records: LogRecord[] = [];
}
class Replica implements LogBackend {
  readonly state = new RegistryState();
  private applied = 0;
  constructor(private readonly shared: SharedLog) {}
  private catchUp(own?: LogRecord): Outcome | undefined {
    let result: Outcome | undefined;
    while (this.applied < this.shared.records.length) {
      const record = this.shared.records[this.applied++];
      const outcome = this.state.apply(record);
      if (record === own) result = outcome;
    }
    return result;
  }
  async sync(): Promise<void> {
    this.catchUp();
  }
  async write(record: LogRecord): Promise<Outcome> {
    this.shared.records.push(record);
    const outcome = this.catchUp(record);
    if (!outcome) throw new Error('own record not applied');
    return outcome;
  }
}

describe('SchemaStore over an in-memory log', () => {
  let store: SchemaStore;
  beforeEach(() => {
    store = new SchemaStore(new MemoryLog());
  });

  it('assigns ids from 1, versions per subject, and reuses ids', async () => {
    expect(await store.register('a-value', { schema: v1 })).toEqual({ id: 1, version: 1 });
    // Same schema text (other whitespace) again: the same id, no new version.
    expect(await store.register('a-value', { schema: JSON.stringify(JSON.parse(v1), null, 2) })).toEqual({
      id: 1,
      version: 1,
    });
    expect(await store.register('a-value', { schema: v2 })).toEqual({ id: 2, version: 2 });
    // The same schema under another subject keeps its global id.
    expect(await store.register('b-value', { schema: v1 })).toEqual({ id: 1, version: 1 });
    expect(await store.subjects(false)).toEqual(['a-value', 'b-value']);
    expect(await store.versions('a-value', false)).toEqual([1, 2]);
    expect((await store.getVersion('a-value', 'latest', false)).id).toBe(2);
    expect(await store.versionsOfId(1, false)).toEqual([
      { subject: 'a-value', version: 1 },
      { subject: 'b-value', version: 1 },
    ]);
  });

  it('rejects an incompatible schema with 409 and stores nothing', async () => {
    await store.register('a-value', { schema: v1 });
    const err = await rejection(store.register('a-value', { schema: breaking }));
    expect(err.status).toBe(409);
    expect(err.errorCode).toBe(409);
    expect(err.message).toMatch(/email/);
    expect(await store.versions('a-value', false)).toEqual([1]);
  });

  it('follows subject and global compatibility levels', async () => {
    await store.register('a-value', { schema: v1 });
    await store.setLevel('a-value', 'NONE');
    expect(await store.register('a-value', { schema: breaking })).toEqual({ id: 2, version: 2 });
    await store.setLevel('a-value', null);
    await store.setLevel(null, 'FORWARD');
    expect(await store.globalLevel()).toBe('FORWARD');
    expect(await store.subjectLevel('a-value')).toBeUndefined();
    // FORWARD: a schema without "email" (no default) breaks readers of version 2.
    const noEmail = user({ name: 'other', type: 'int' });
    expect((await rejection(store.register('a-value', { schema: noEmail }))).status).toBe(409);
    // A schema the subject already has is answered with its id whatever the level.
    expect(await store.register('a-value', { schema: v1 })).toEqual({ id: 1, version: 1 });
  });

  it('rejects invalid Avro and unsupported schema types with 422/42201', async () => {
    const bad = await rejection(
      store.register('a-value', { schema: '{"type":"record","name":"X","fields":[{"name":"a","type":"nope"}]}' }),
    );
    expect([bad.status, bad.errorCode]).toEqual([422, 42201]);
    const notJson = await rejection(store.register('a-value', { schema: '{not json' }));
    expect([notJson.status, notJson.errorCode]).toEqual([422, 42201]);
    const proto = await rejection(store.register('a-value', { schema: 'syntax = "proto3";', schemaType: 'PROTOBUF' }));
    expect(proto.errorCode).toBe(42201);
  });

  it('answers lookups with Confluent codes', async () => {
    expect((await rejection(store.getVersion('nope', 1, false))).errorCode).toBe(40401);
    await store.register('a-value', { schema: v1 });
    expect((await rejection(store.getVersion('a-value', 7, false))).errorCode).toBe(40402);
    expect((await rejection(store.schemaById(99))).errorCode).toBe(40403);
    expect((await store.lookup('a-value', { schema: v1 }, false)).version).toBe(1);
    expect((await rejection(store.lookup('a-value', { schema: v2 }, false))).errorCode).toBe(40403);
    expect((await rejection(store.lookup('other', { schema: v1 }, false))).errorCode).toBe(40401);
  });

  it('soft-deletes, refuses a second soft delete, hard-deletes, and keeps numbering after a soft delete', async () => {
    await store.register('a-value', { schema: v1 });
    await store.register('a-value', { schema: v2 });
    expect((await rejection(store.deleteSubject('a-value', true))).errorCode).toBe(40405);
    expect(await store.deleteSubject('a-value', false)).toEqual([1, 2]);
    expect(await store.subjects(false)).toEqual([]);
    expect(await store.subjects(true)).toEqual(['a-value']);
    expect((await rejection(store.deleteSubject('a-value', false))).errorCode).toBe(40404);
    expect((await rejection(store.versions('a-value', false))).errorCode).toBe(40401);
    // The id still resolves (data written with it must stay readable).
    expect((await store.schemaById(1)).schema).toBe(v1);
    // Re-registering after a soft delete continues the numbering, and any schema is accepted.
    expect(await store.register('a-value', { schema: breaking })).toEqual({ id: 3, version: 3 });
    expect(await store.deleteVersion('a-value', 3, false)).toBe(3);
    expect(await store.deleteSubject('a-value', true)).toEqual([1, 2, 3]);
    expect(await store.subjects(true)).toEqual([]);
    expect(await store.register('a-value', { schema: v1 })).toEqual({ id: 1, version: 1 });
  });

  it('deletes single versions with soft-then-permanent rules', async () => {
    await store.register('a-value', { schema: v1 });
    await store.register('a-value', { schema: v2 });
    expect((await rejection(store.deleteVersion('a-value', 1, true))).errorCode).toBe(40407);
    expect(await store.deleteVersion('a-value', 'latest', false)).toBe(2);
    expect((await rejection(store.deleteVersion('a-value', 2, false))).errorCode).toBe(40406);
    expect(await store.versions('a-value', false)).toEqual([1]);
    expect(await store.versions('a-value', true)).toEqual([1, 2]);
    expect((await store.getVersion('a-value', 2, true)).id).toBe(2);
    expect(await store.deleteVersion('a-value', 2, true)).toBe(2);
    expect(await store.versions('a-value', true)).toEqual([1]);
  });

  it('tests compatibility against latest, a given version, or all versions', async () => {
    expect((await store.testCompatibility('a-value', 'latest', { schema: breaking })).compatible).toBe(true);
    await store.register('a-value', { schema: v1 });
    await store.register('a-value', { schema: v2 });
    expect((await store.testCompatibility('a-value', 'latest', { schema: breaking })).compatible).toBe(false);
    const v3 = user({ name: 'age', type: 'int' });
    expect((await store.testCompatibility('a-value', 'latest', { schema: v3 })).compatible).toBe(true);
    expect((await store.testCompatibility('a-value', 1, { schema: v3 })).compatible).toBe(false);
    await store.setLevel('a-value', 'BACKWARD_TRANSITIVE');
    expect((await store.testCompatibility('a-value', 'all', { schema: v3 })).compatible).toBe(false);
    expect((await rejection(store.testCompatibility('a-value', 9, { schema: v3 }))).errorCode).toBe(40402);
  });

  it('resolves references to other subjects', async () => {
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
    await store.register('address', { schema: address });
    expect((await rejection(store.register('person', { schema: person }))).errorCode).toBe(42201);
    const refs = [{ name: 'x.Address', subject: 'address', version: 1 }];
    const { id } = await store.register('person', { schema: person, references: refs });
    expect((await store.schemaById(id)).references).toEqual(refs);
    expect(await store.referencedBy('address', 1)).toEqual([id]);
  });
});

describe('several instances on one log', () => {
  it('never hand out one id for two schemas when they register concurrently', async () => {
    const shared = new SharedLog();
    const a = new SchemaStore(new Replica(shared));
    const b = new SchemaStore(new Replica(shared));
    await a.setLevel(null, 'NONE');
    const other = JSON.stringify({ type: 'record', name: 'Other', fields: [{ name: 'x', type: 'int' }] });
    const [ra, rb] = await Promise.all([a.register('s', { schema: v1 }), b.register('s', { schema: other })]);
    expect(ra.id).not.toBe(rb.id);
    expect(new Set([ra.version, rb.version])).toEqual(new Set([1, 2]));
    // Both see both.
    for (const store of [a, b]) {
      expect(await store.versions('s', false)).toEqual([1, 2]);
      expect((await store.schemaById(ra.id)).schema).toBe(v1);
      expect((await store.schemaById(rb.id)).schema).toBe(other);
    }
  });

  it('re-checks compatibility when another instance changed the subject in between', async () => {
    const shared = new SharedLog();
    const a = new SchemaStore(new Replica(shared));
    const b = new SchemaStore(new Replica(shared));
    await a.register('s', { schema: v1 });
    // Both check against {v1} and pass: a adds age:int, b adds age:string (both with defaults).
    // b's record lands after a's, is not applied (the subject changed), and b's re-check
    // against a's version finds that a string field cannot read an int.
    const ageAsString = user({ name: 'age', type: 'string', default: '' });
    const results = await Promise.allSettled([
      a.register('s', { schema: v2 }),
      b.register('s', { schema: ageAsString }),
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: { id: 2, version: 2 } });
    expect(results[1].status).toBe('rejected');
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ status: 409 });
    expect(shared.records.filter((r) => r.type === 'register')).toHaveLength(3);
    expect(await b.versions('s', false)).toEqual([1, 2]);
  });

  it('registering the same schema concurrently yields one version', async () => {
    const shared = new SharedLog();
    const a = new SchemaStore(new Replica(shared));
    const b = new SchemaStore(new Replica(shared));
    const [ra, rb] = await Promise.all([a.register('s', { schema: v1 }), b.register('s', { schema: v1 })]);
    expect(ra).toEqual(rb);
    expect(await b.versions('s', false)).toEqual([1]);
  });
});

describe('replaying the log', () => {
  it('a fresh replica and a replica of the compacted log reach the same state', async () => {
    const shared = new SharedLog();
    const store = new SchemaStore(new Replica(shared));
    await store.register('a', { schema: v1 });
    await store.setLevel('a', 'NONE');
    await store.register('a', { schema: breaking });
    await store.setLevel('a', 'FULL');
    await store.register('b', { schema: v2 });
    await store.deleteVersion('a', 1, false);
    await store.setLevel(null, 'FORWARD');
    await store.register('c', { schema: breaking });

    // Compaction keeps the last record of each key.
    const lastByKey = new Map<string, number>();
    shared.records.forEach((r, i) => lastByKey.set(recordKey(r), i));
    const compacted = shared.records.filter((r, i) => lastByKey.get(recordKey(r)) === i);
    expect(compacted.length).toBeLessThan(shared.records.length);

    const snapshot = (state: RegistryState) => ({
      subjects: state.subjectNames(true).map((s) => [s, state.versions(s, true), state.subjectLevel(s)]),
      schemas: [1, 2, 3, 4].map((id) => state.schemaById(id)?.schema),
      global: state.globalLevel(),
    });
    const full = new RegistryState();
    shared.records.forEach((r) => full.apply(r));
    const fromCompacted = new RegistryState();
    compacted.forEach((r) => fromCompacted.apply(r));
    expect(snapshot(fromCompacted)).toEqual(snapshot(full));
    expect(snapshot(full).schemas.filter(Boolean)).toHaveLength(3);
  });
});
