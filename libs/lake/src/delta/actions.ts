import { FileStats } from '../parquet';
import { ColumnType, TableSchema } from '../types';

/** Delta Lake log actions (delta-io PROTOCOL.md), the subset Sluice writes and reads. */
export interface ProtocolAction {
  minReaderVersion: number;
  minWriterVersion: number;
  readerFeatures?: string[];
  writerFeatures?: string[];
}

export interface MetaDataAction {
  id: string;
  name?: string | null;
  description?: string | null;
  format: { provider: string; options: Record<string, string> };
  schemaString: string;
  partitionColumns: string[];
  configuration: Record<string, string>;
  createdTime?: number | null;
}

export interface AddAction {
  path: string;
  partitionValues: Record<string, string | null>;
  size: number;
  modificationTime: number;
  dataChange: boolean;
  stats?: string;
}

export interface RemoveAction {
  path: string;
  deletionTimestamp?: number;
  dataChange: boolean;
  extendedFileMetadata?: boolean;
  partitionValues?: Record<string, string | null>;
  size?: number;
}

export interface TxnAction {
  appId: string;
  version: number;
  lastUpdated?: number;
}

export interface CommitInfoAction {
  timestamp: number;
  operation: string;
  operationParameters?: Record<string, string>;
  engineInfo?: string;
  [key: string]: unknown;
}

export type Action =
  | { protocol: ProtocolAction }
  | { metaData: MetaDataAction }
  | { add: AddAction }
  | { remove: RemoveAction }
  | { txn: TxnAction }
  | { commitInfo: CommitInfoAction };

export const DELTA_LOG_DIR = '_delta_log';

/** `_delta_log/00000000000000000042.json` */
export function commitFileName(version: number): string {
  if (!Number.isSafeInteger(version) || version < 0) throw new Error(`invalid Delta version ${version}`);
  return `${DELTA_LOG_DIR}/${String(version).padStart(20, '0')}.json`;
}

/** The version of a commit file name, or undefined for other log files (checkpoints, _last_checkpoint, ...). */
export function versionOfCommitFile(name: string): number | undefined {
  const match = /(?:^|\/)(\d{20})\.json$/.exec(name);
  return match ? Number(match[1]) : undefined;
}

const SPARK_TYPE: Record<ColumnType, string> = {
  boolean: 'boolean',
  int: 'long',
  float: 'double',
  timestamp: 'timestamp',
  string: 'string',
};

const FROM_SPARK: Record<string, ColumnType> = {
  boolean: 'boolean',
  byte: 'int',
  short: 'int',
  integer: 'int',
  long: 'int',
  float: 'float',
  double: 'float',
  timestamp: 'timestamp',
  timestamp_ntz: 'timestamp',
  string: 'string',
};

/** Table schema → Spark StructType JSON (the `schemaString` of `metaData`). */
export function toSchemaString(schema: TableSchema): string {
  return JSON.stringify({
    type: 'struct',
    fields: Object.entries(schema).map(([name, type]) => ({
      name,
      type: SPARK_TYPE[type],
      nullable: true,
      metadata: {},
    })),
  });
}

/** Spark StructType JSON → table schema. Types Sluice does not write are rejected. */
export function fromSchemaString(schemaString: string): TableSchema {
  const parsed = JSON.parse(schemaString) as { type?: string; fields?: { name: string; type: unknown }[] };
  if (parsed.type !== 'struct' || !Array.isArray(parsed.fields)) throw new Error('schemaString is not a struct type');
  const schema: Record<string, ColumnType> = {};
  for (const field of parsed.fields) {
    const type = typeof field.type === 'string' ? FROM_SPARK[field.type] : undefined;
    if (type === undefined) {
      throw new Error(`column ${field.name} has Delta type ${JSON.stringify(field.type)}, which Sluice does not write`);
    }
    schema[field.name] = type;
  }
  return schema;
}

export function protocolAction(): { protocol: ProtocolAction } {
  return { protocol: { minReaderVersion: 1, minWriterVersion: 2 } };
}

export function metaDataAction(
  id: string,
  schema: TableSchema,
  createdTime: number,
  partitionColumns: string[] = [],
  configuration: Record<string, string> = {},
): { metaData: MetaDataAction } {
  return {
    metaData: {
      id,
      format: { provider: 'parquet', options: {} },
      schemaString: toSchemaString(schema),
      partitionColumns,
      configuration,
      createdTime,
    },
  };
}

export function addAction(path: string, size: number, stats: FileStats, modificationTime: number): { add: AddAction } {
  return {
    add: {
      path: encodeURI(path),
      partitionValues: {},
      size,
      modificationTime,
      dataChange: true,
      stats: JSON.stringify(stats),
    },
  };
}

export function removeAction(add: AddAction, deletionTimestamp: number): { remove: RemoveAction } {
  return {
    remove: {
      path: add.path,
      deletionTimestamp,
      dataChange: true,
      extendedFileMetadata: true,
      partitionValues: add.partitionValues,
      size: add.size,
    },
  };
}

export function txnAction(appId: string, version: number, lastUpdated: number): { txn: TxnAction } {
  return { txn: { appId, version, lastUpdated } };
}

/** One commit file: one JSON action per line. */
export function serializeCommit(actions: readonly Action[]): string {
  return actions.map((action) => JSON.stringify(action)).join('\n') + '\n';
}

export function parseCommit(text: string): Action[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Action);
}

/** What a reader knows of a table after replaying its log. */
export interface TableState {
  /** -1 when the table does not exist yet. */
  version: number;
  protocol?: ProtocolAction;
  metadata?: MetaDataAction;
  schema: TableSchema;
  /** Live data files by path. */
  files: Map<string, AddAction>;
  /** Latest applied version per application id. */
  txns: Map<string, number>;
}

export function emptyState(): TableState {
  return { version: -1, schema: {}, files: new Map(), txns: new Map() };
}

/** Applies commits in order to a state (pure: returns a new state, the input is untouched). */
export function applyCommits(
  state: TableState,
  commits: readonly { version: number; actions: readonly Action[] }[],
): TableState {
  const next: TableState = {
    version: state.version,
    protocol: state.protocol,
    metadata: state.metadata,
    schema: state.schema,
    files: new Map(state.files),
    txns: new Map(state.txns),
  };
  for (const { version, actions } of commits) {
    if (version !== next.version + 1)
      throw new Error(`Delta log gap: have version ${next.version}, next is ${version}`);
    next.version = version;
    for (const action of actions) {
      if ('protocol' in action) next.protocol = action.protocol;
      else if ('metaData' in action) {
        next.metadata = action.metaData;
        next.schema = fromSchemaString(action.metaData.schemaString);
      } else if ('add' in action) next.files.set(action.add.path, action.add);
      else if ('remove' in action) next.files.delete(action.remove.path);
      else if ('txn' in action) next.txns.set(action.txn.appId, action.txn.version);
    }
  }
  return next;
}

/** Parses an `add.stats` string; undefined when absent or unreadable. */
export function parseStats(add: AddAction): FileStats | undefined {
  if (!add.stats) return undefined;
  try {
    return JSON.parse(add.stats) as FileStats;
  } catch {
    return undefined;
  }
}
