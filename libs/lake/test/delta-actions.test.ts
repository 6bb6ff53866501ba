import {
  addAction,
  applyCommits,
  commitFileName,
  emptyState,
  fromSchemaString,
  metaDataAction,
  parseCommit,
  protocolAction,
  removeAction,
  serializeCommit,
  toSchemaString,
  txnAction,
  versionOfCommitFile,
} from '../src';

describe('Delta log actions', () => {
  it('names commit files with 20 zero-padded digits', () => {
    expect(commitFileName(0)).toBe('_delta_log/00000000000000000000.json');
    expect(commitFileName(42)).toBe('_delta_log/00000000000000000042.json');
    expect(versionOfCommitFile('t/_delta_log/00000000000000000042.json')).toBe(42);
    expect(versionOfCommitFile('t/_delta_log/00000000000000000010.checkpoint.parquet')).toBeUndefined();
    expect(() => commitFileName(-1)).toThrow();
  });

  it('writes the schema as a Spark StructType and reads it back', () => {
    const schema = { id: 'string', n: 'int', f: 'float', b: 'boolean', t: 'timestamp' } as const;
    const s = toSchemaString(schema);
    expect(JSON.parse(s)).toEqual({
      type: 'struct',
      fields: [
        { name: 'id', type: 'string', nullable: true, metadata: {} },
        { name: 'n', type: 'long', nullable: true, metadata: {} },
        { name: 'f', type: 'double', nullable: true, metadata: {} },
        { name: 'b', type: 'boolean', nullable: true, metadata: {} },
        { name: 't', type: 'timestamp', nullable: true, metadata: {} },
      ],
    });
    expect(fromSchemaString(s)).toEqual(schema);
    expect(() => fromSchemaString('{"type":"struct","fields":[{"name":"x","type":{"type":"array"}}]}')).toThrow(/x/);
  });

  it('builds version 0 with protocol, metaData, add and txn', () => {
    const actions = [
      protocolAction(),
      metaDataAction('table-id', { id: 'string' }, 1000),
      addAction(
        'part-1.parquet',
        123,
        { numRecords: 2, minValues: { id: 'a' }, maxValues: { id: 'b' }, nullCount: { id: 0 } },
        1000,
      ),
      txnAction('app', 7, 1000),
    ];
    const text = serializeCommit(actions);
    expect(text.split('\n')).toHaveLength(5);
    expect(parseCommit(text)).toEqual(actions);
    expect(actions[0]).toEqual({ protocol: { minReaderVersion: 1, minWriterVersion: 2 } });
    expect(actions[1]).toEqual({
      metaData: {
        id: 'table-id',
        format: { provider: 'parquet', options: {} },
        schemaString: toSchemaString({ id: 'string' }),
        partitionColumns: [],
        configuration: {},
        createdTime: 1000,
      },
    });
    expect(actions[2]).toEqual({
      add: {
        path: 'part-1.parquet',
        partitionValues: {},
        size: 123,
        modificationTime: 1000,
        dataChange: true,
        stats: '{"numRecords":2,"minValues":{"id":"a"},"maxValues":{"id":"b"},"nullCount":{"id":0}}',
      },
    });
    expect(actions[3]).toEqual({ txn: { appId: 'app', version: 7, lastUpdated: 1000 } });
  });

  it('URI-encodes add paths', () => {
    expect(
      addAction('a b/c.parquet', 1, { numRecords: 0, minValues: {}, maxValues: {}, nullCount: {} }, 0).add.path,
    ).toBe('a%20b/c.parquet');
  });

  it('replays commits into files, schema and txn versions without touching the input', () => {
    const add1 = addAction('f1.parquet', 1, { numRecords: 1, minValues: {}, maxValues: {}, nullCount: {} }, 0);
    const add2 = addAction('f2.parquet', 1, { numRecords: 1, minValues: {}, maxValues: {}, nullCount: {} }, 0);
    const empty = emptyState();
    const s1 = applyCommits(empty, [
      { version: 0, actions: [protocolAction(), metaDataAction('x', { id: 'string' }, 0), add1, txnAction('a', 1, 0)] },
      {
        version: 1,
        actions: [metaDataAction('x', { id: 'string', n: 'int' }, 0), add2, txnAction('a', 2, 0), txnAction('b', 9, 0)],
      },
      { version: 2, actions: [removeAction(add1.add, 5)] },
    ]);
    expect(s1.version).toBe(2);
    expect(s1.schema).toEqual({ id: 'string', n: 'int' });
    expect([...s1.files.keys()]).toEqual(['f2.parquet']);
    expect(Object.fromEntries(s1.txns)).toEqual({ a: 2, b: 9 });
    expect(empty.version).toBe(-1);
    expect(empty.files.size).toBe(0);
    expect(() => applyCommits(s1, [{ version: 4, actions: [] }])).toThrow(/gap/);
  });
});
