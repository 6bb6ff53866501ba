import type { SchemaElement, ColumnSource } from 'hyparquet-writer';
import { hyparquet, hyparquetWriter } from '../esm';
import { AddAction, MetaDataAction, ProtocolAction, TableState, DELTA_LOG_DIR, fromSchemaString } from './actions';

/** `_delta_log/00000000000000000010.checkpoint.parquet` */
export function checkpointFileName(version: number): string {
  return `${DELTA_LOG_DIR}/${String(version).padStart(20, '0')}.checkpoint.parquet`;
}

export const LAST_CHECKPOINT = `${DELTA_LOG_DIR}/_last_checkpoint`;

const str = (name: string, repetition: 'OPTIONAL' | 'REQUIRED' = 'OPTIONAL'): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  converted_type: 'UTF8',
  repetition_type: repetition,
});
const i64 = (name: string): SchemaElement => ({ name, type: 'INT64', repetition_type: 'OPTIONAL' });
const i32 = (name: string): SchemaElement => ({ name, type: 'INT32', repetition_type: 'OPTIONAL' });
const bool = (name: string): SchemaElement => ({ name, type: 'BOOLEAN', repetition_type: 'OPTIONAL' });
const group = (name: string, children: number): SchemaElement => ({
  name,
  repetition_type: 'OPTIONAL',
  num_children: children,
});
const stringMap = (name: string): SchemaElement[] => [
  { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'MAP' },
  { name: 'key_value', repetition_type: 'REPEATED', num_children: 2 },
  str('key', 'REQUIRED'),
  str('value'),
];
const stringList = (name: string): SchemaElement[] => [
  { name, repetition_type: 'OPTIONAL', num_children: 1, converted_type: 'LIST' },
  { name: 'list', repetition_type: 'REPEATED', num_children: 1 },
  str('element'),
];

/** The checkpoint schema of PROTOCOL.md (the fields Sluice writes), depth-first. */
function checkpointSchema(): SchemaElement[] {
  return [
    { name: 'spark_schema', num_children: 5 },
    group('txn', 3),
    str('appId'),
    i64('version'),
    i64('lastUpdated'),
    group('add', 6),
    str('path'),
    ...stringMap('partitionValues'),
    i64('size'),
    i64('modificationTime'),
    bool('dataChange'),
    str('stats'),
    group('remove', 6),
    str('path'),
    i64('deletionTimestamp'),
    bool('dataChange'),
    bool('extendedFileMetadata'),
    ...stringMap('partitionValues'),
    i64('size'),
    group('metaData', 8),
    str('id'),
    str('name'),
    str('description'),
    group('format', 2),
    str('provider'),
    ...stringMap('options'),
    str('schemaString'),
    ...stringList('partitionColumns'),
    ...stringMap('configuration'),
    i64('createdTime'),
    group('protocol', 2),
    i32('minReaderVersion'),
    i32('minWriterVersion'),
  ];
}

type CheckpointRow = { txn?: object; add?: object; remove?: object; metaData?: object; protocol?: object };

/**
 * A single-file Parquet checkpoint of a table state: protocol, metaData, the
 * latest txn per appId and every live file. Tombstones (remove) are not kept:
 * Sluice does not track them, so VACUUM retention of removed files starts
 * from the checkpoint.
 */
export function writeCheckpoint(state: TableState): { bytes: Uint8Array; rows: number } {
  if (!state.protocol || !state.metadata) throw new Error('cannot checkpoint a table without protocol and metaData');
  const rows: CheckpointRow[] = [];
  rows.push({
    protocol: { minReaderVersion: state.protocol.minReaderVersion, minWriterVersion: state.protocol.minWriterVersion },
  });
  const m = state.metadata;
  rows.push({
    metaData: {
      id: m.id,
      name: m.name ?? null,
      description: m.description ?? null,
      format: { provider: m.format.provider, options: m.format.options ?? {} },
      schemaString: m.schemaString,
      partitionColumns: m.partitionColumns,
      configuration: m.configuration ?? {},
      createdTime: m.createdTime == null ? null : BigInt(m.createdTime),
    },
  });
  for (const [appId, version] of state.txns) {
    rows.push({ txn: { appId, version: BigInt(version), lastUpdated: null } });
  }
  for (const add of state.files.values()) {
    rows.push({
      add: {
        path: add.path,
        partitionValues: add.partitionValues ?? {},
        size: BigInt(add.size),
        modificationTime: BigInt(add.modificationTime),
        dataChange: false,
        stats: add.stats ?? null,
      },
    });
  }
  const columns = ['txn', 'add', 'remove', 'metaData', 'protocol'] as const;
  const columnData: ColumnSource[] = columns.map((name) => ({
    name,
    data: rows.map((row) => row[name as keyof CheckpointRow] ?? null) as ColumnSource['data'],
  }));
  const buffer = hyparquetWriter().parquetWriteBuffer({
    columnData,
    schema: checkpointSchema(),
    createdBy: 'sluice-lake',
  });
  return { bytes: new Uint8Array(buffer), rows: rows.length };
}

function plainMap(value: unknown): Record<string, string | null> {
  if (value === null || value === undefined) return {};
  if (value instanceof Map || Object.prototype.toString.call(value) === '[object Map]') {
    return Object.fromEntries(value as Map<string, string | null>);
  }
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map((e: { key: string; value: string | null }) => [e.key, e.value]));
  }
  return value as Record<string, string | null>;
}

const num = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : Number(v));

/** Reads a checkpoint (Sluice's or another writer's single-file checkpoint) into a state. */
export async function readCheckpoint(bytes: Uint8Array, version: number): Promise<TableState> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = (await hyparquet().parquetReadObjects({
    file: buffer,
    columns: ['txn', 'add', 'metaData', 'protocol'],
  })) as Record<string, unknown>[];
  const state: TableState = { version, schema: {}, files: new Map(), txns: new Map() };
  for (const row of rows) {
    const protocol = row.protocol as Record<string, unknown> | null | undefined;
    const metaData = row.metaData as Record<string, unknown> | null | undefined;
    const txn = row.txn as Record<string, unknown> | null | undefined;
    const add = row.add as Record<string, unknown> | null | undefined;
    if (protocol && protocol.minReaderVersion != null) {
      state.protocol = {
        minReaderVersion: num(protocol.minReaderVersion),
        minWriterVersion: num(protocol.minWriterVersion),
      } as ProtocolAction;
    }
    if (metaData && metaData.id != null) {
      const format = (metaData.format ?? {}) as Record<string, unknown>;
      const meta: MetaDataAction = {
        id: String(metaData.id),
        name: (metaData.name as string | null) ?? null,
        description: (metaData.description as string | null) ?? null,
        format: {
          provider: String(format.provider ?? 'parquet'),
          options: plainMap(format.options) as Record<string, string>,
        },
        schemaString: String(metaData.schemaString),
        partitionColumns: Array.isArray(metaData.partitionColumns) ? (metaData.partitionColumns as string[]) : [],
        configuration: plainMap(metaData.configuration) as Record<string, string>,
        createdTime: metaData.createdTime == null ? null : num(metaData.createdTime),
      };
      state.metadata = meta;
      state.schema = fromSchemaString(meta.schemaString);
    }
    if (txn && txn.appId != null) state.txns.set(String(txn.appId), num(txn.version));
    if (add && add.path != null) {
      const action: AddAction = {
        path: String(add.path),
        partitionValues: plainMap(add.partitionValues),
        size: num(add.size),
        modificationTime: num(add.modificationTime),
        dataChange: Boolean(add.dataChange),
      };
      if (typeof add.stats === 'string') action.stats = add.stats;
      state.files.set(action.path, action);
    }
  }
  return state;
}
