import { type CompatibilityLevel, DEFAULT_COMPATIBILITY, isCompatibilityLevel } from './compatibility';
import { errors, RegistryError } from './errors';

/**
 * The registry's state as a pure function of its log: every instance applies
 * the same records in the same (single-partition) order and so reaches the
 * same ids, versions and answers. See docs/decisions/0100.
 */

export type SchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';

export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

export interface SchemaEntry {
  id: number;
  schemaType: SchemaType;
  /** Normalised schema text. */
  schema: string;
  references: SchemaReference[];
}

export interface VersionEntry {
  version: number;
  id: number;
  deleted: boolean;
}

interface SubjectEntry {
  /** Ordered by version; hard-deleted versions are removed. */
  versions: VersionEntry[];
  /**
   * Bumped by every change to the subject's versions. A registration carries
   * the epoch its compatibility check saw; it is applied only if no change
   * came in between. Never reset, so no ABA after a hard delete.
   */
  epoch: number;
}

export interface RegisterRecord {
  type: 'register';
  requestId: string;
  subject: string;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
  expectedEpoch: number;
}

export interface DeleteSubjectRecord {
  type: 'delete-subject';
  requestId: string;
  subject: string;
  permanent: boolean;
}

export interface DeleteVersionRecord {
  type: 'delete-version';
  requestId: string;
  subject: string;
  version: number;
  permanent: boolean;
}

export interface ConfigRecord {
  type: 'config';
  requestId: string;
  /** null: the global level. */
  subject: string | null;
  /** null: remove the setting. */
  compatibility: CompatibilityLevel | null;
}

export type LogRecord = RegisterRecord | DeleteSubjectRecord | DeleteVersionRecord | ConfigRecord;

export type Outcome =
  | { kind: 'registered'; id: number; version: number; created: boolean }
  | { kind: 'conflict' }
  | { kind: 'deleted'; versions: number[] }
  | { kind: 'config'; previous: CompatibilityLevel | undefined }
  | { kind: 'error'; error: { status: number; errorCode: number; message: string } };

/** Kafka record key of a log record (see the decision on compaction). */
export function recordKey(record: LogRecord): string {
  switch (record.type) {
    case 'register':
      return `register:${record.subject}:${record.requestId}`;
    case 'delete-subject':
    case 'delete-version':
      return `delete:${record.subject}:${record.requestId}`;
    case 'config':
      return record.subject === null ? 'config-global' : `config-subject:${record.subject}`;
  }
}

function identity(schemaType: SchemaType, schema: string, references: readonly SchemaReference[]): string {
  return JSON.stringify([schemaType, schema, references.map((r) => [r.name, r.subject, r.version])]);
}

function errorOutcome(err: RegistryError): Outcome {
  return { kind: 'error', error: { status: err.status, errorCode: err.errorCode, message: err.message } };
}

export class RegistryState {
  private readonly schemasById = new Map<number, SchemaEntry>();
  private readonly idsByIdentity = new Map<string, number>();
  private readonly subjects = new Map<string, SubjectEntry>();
  private readonly subjectLevels = new Map<string, CompatibilityLevel>();
  private globalLevelSetting: CompatibilityLevel | undefined;
  private maxId = 0;

  apply(record: LogRecord): Outcome {
    switch (record.type) {
      case 'register':
        return this.applyRegister(record);
      case 'delete-subject':
        return this.applyDeleteSubject(record);
      case 'delete-version':
        return this.applyDeleteVersion(record);
      case 'config':
        return this.applyConfig(record);
    }
  }

  private applyRegister(r: RegisterRecord): Outcome {
    const key = identity(r.schemaType, r.schema, r.references);
    const knownId = this.idsByIdentity.get(key);
    const subject = this.subjects.get(r.subject) ?? { versions: [], epoch: 0 };
    if (knownId !== undefined) {
      const live = subject.versions.find((v) => v.id === knownId && !v.deleted);
      if (live) return { kind: 'registered', id: knownId, version: live.version, created: false };
    }
    if (subject.epoch !== r.expectedEpoch) return { kind: 'conflict' };
    let id = knownId;
    if (id === undefined) {
      id = ++this.maxId;
      this.schemasById.set(id, { id, schemaType: r.schemaType, schema: r.schema, references: r.references });
      this.idsByIdentity.set(key, id);
    }
    const last = subject.versions[subject.versions.length - 1];
    const version = last ? last.version + 1 : 1;
    subject.versions.push({ version, id, deleted: false });
    subject.epoch++;
    this.subjects.set(r.subject, subject);
    return { kind: 'registered', id, version, created: true };
  }

  private applyDeleteSubject(r: DeleteSubjectRecord): Outcome {
    const subject = this.subjects.get(r.subject);
    if (!subject || subject.versions.length === 0) return errorOutcome(errors.subjectNotFound(r.subject));
    const live = subject.versions.filter((v) => !v.deleted);
    if (r.permanent) {
      if (live.length > 0) return errorOutcome(errors.subjectNotSoftDeleted(r.subject));
      const versions = subject.versions.map((v) => v.version);
      subject.versions = [];
      subject.epoch++;
      return { kind: 'deleted', versions };
    }
    if (live.length === 0) return errorOutcome(errors.subjectSoftDeleted(r.subject));
    for (const v of live) v.deleted = true;
    subject.epoch++;
    return { kind: 'deleted', versions: live.map((v) => v.version) };
  }

  private applyDeleteVersion(r: DeleteVersionRecord): Outcome {
    const subject = this.subjects.get(r.subject);
    if (!subject || subject.versions.length === 0) return errorOutcome(errors.subjectNotFound(r.subject));
    const entry = subject.versions.find((v) => v.version === r.version);
    if (!entry) return errorOutcome(errors.versionNotFound(r.subject, r.version));
    if (r.permanent) {
      if (!entry.deleted) return errorOutcome(errors.versionNotSoftDeleted(r.subject, r.version));
      subject.versions = subject.versions.filter((v) => v !== entry);
    } else {
      if (entry.deleted) return errorOutcome(errors.versionSoftDeleted(r.subject, r.version));
      entry.deleted = true;
    }
    subject.epoch++;
    return { kind: 'deleted', versions: [r.version] };
  }

  private applyConfig(r: ConfigRecord): Outcome {
    const previous = r.subject === null ? this.globalLevelSetting : this.subjectLevels.get(r.subject);
    const level = r.compatibility !== null && isCompatibilityLevel(r.compatibility) ? r.compatibility : undefined;
    if (r.subject === null) this.globalLevelSetting = level;
    else if (level === undefined) this.subjectLevels.delete(r.subject);
    else this.subjectLevels.set(r.subject, level);
    return { kind: 'config', previous };
  }

  // ---- queries ----

  schemaById(id: number): SchemaEntry | undefined {
    return this.schemasById.get(id);
  }

  idOf(schemaType: SchemaType, schema: string, references: readonly SchemaReference[]): number | undefined {
    return this.idsByIdentity.get(identity(schemaType, schema, references));
  }

  /** Subjects with at least one live version (or any version with `includeDeleted`). */
  subjectNames(includeDeleted = false): string[] {
    const names: string[] = [];
    for (const [name, s] of this.subjects) {
      if (s.versions.some((v) => includeDeleted || !v.deleted)) names.push(name);
    }
    return names.sort();
  }

  versions(subject: string, includeDeleted = false): VersionEntry[] {
    const s = this.subjects.get(subject);
    if (!s) return [];
    return s.versions.filter((v) => includeDeleted || !v.deleted).map((v) => ({ ...v }));
  }

  epoch(subject: string): number {
    return this.subjects.get(subject)?.epoch ?? 0;
  }

  /** Live (or with `includeDeleted`, any) subject/version pairs that use schema `id`. */
  usagesOf(id: number, includeDeleted = false): { subject: string; version: number }[] {
    const out: { subject: string; version: number }[] = [];
    for (const name of [...this.subjects.keys()].sort()) {
      for (const v of this.subjects.get(name)?.versions ?? []) {
        if (v.id === id && (includeDeleted || !v.deleted)) out.push({ subject: name, version: v.version });
      }
    }
    return out;
  }

  /** Ids of schemas that reference `subject` at `version`. */
  referencedBy(subject: string, version: number): number[] {
    const ids: number[] = [];
    for (const entry of this.schemasById.values()) {
      if (entry.references.some((r) => r.subject === subject && r.version === version)) ids.push(entry.id);
    }
    return ids.sort((a, b) => a - b);
  }

  subjectLevel(subject: string): CompatibilityLevel | undefined {
    return this.subjectLevels.get(subject);
  }

  globalLevel(): CompatibilityLevel {
    return this.globalLevelSetting ?? DEFAULT_COMPATIBILITY;
  }

  /** The level that applies to `subject`: its own, else the global one. */
  effectiveLevel(subject: string): CompatibilityLevel {
    return this.subjectLevels.get(subject) ?? this.globalLevel();
  }

  counts(): { schemas: number; subjects: number } {
    return { schemas: this.schemasById.size, subjects: this.subjectNames().length };
  }
}

/** Decodes a record value read from the log; undefined for what this version does not understand. */
export function decodeRecord(value: Buffer | null): LogRecord | undefined {
  if (value === null) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object') return undefined;
  const r = parsed as Record<string, unknown>;
  if (r.v !== 1 || typeof r.requestId !== 'string') return undefined;
  const str = (x: unknown): x is string => typeof x === 'string';
  switch (r.type) {
    case 'register':
      if (!str(r.subject) || !str(r.schema) || !str(r.schemaType) || typeof r.expectedEpoch !== 'number') {
        return undefined;
      }
      if (!Array.isArray(r.references)) return undefined;
      return {
        type: 'register',
        requestId: r.requestId,
        subject: r.subject,
        schemaType: r.schemaType as SchemaType,
        schema: r.schema,
        references: r.references as SchemaReference[],
        expectedEpoch: r.expectedEpoch,
      };
    case 'delete-subject':
      if (!str(r.subject)) return undefined;
      return { type: 'delete-subject', requestId: r.requestId, subject: r.subject, permanent: r.permanent === true };
    case 'delete-version':
      if (!str(r.subject) || typeof r.version !== 'number') return undefined;
      return {
        type: 'delete-version',
        requestId: r.requestId,
        subject: r.subject,
        version: r.version,
        permanent: r.permanent === true,
      };
    case 'config':
      if (!(r.subject === null || str(r.subject))) return undefined;
      if (!(r.compatibility === null || isCompatibilityLevel(r.compatibility))) return undefined;
      return { type: 'config', requestId: r.requestId, subject: r.subject, compatibility: r.compatibility };
    default:
      return undefined;
  }
}

export function encodeRecord(record: LogRecord): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ...record }), 'utf8');
}
