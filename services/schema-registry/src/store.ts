import { randomUUID } from 'node:crypto';
import type { Type } from 'avsc';
import {
  checkCompatibility,
  type CompatibilityLevel,
  type CompatibilityResult,
  normaliseSchemaText,
  parseAvro,
  type PreviousSchema,
} from './compatibility';
import { errors, RegistryError } from './errors';
import {
  type LogRecord,
  type Outcome,
  RegistryState,
  type SchemaEntry,
  type SchemaReference,
  type SchemaType,
  type VersionEntry,
} from './state';

/** What the store needs of its log: the applied state, a catch-up, and an ordered write. */
export interface LogBackend {
  readonly state: RegistryState;
  /** Resolves once everything written before the call has been applied. */
  sync(): Promise<void>;
  /** Appends a record and resolves with its outcome once applied in log order. */
  write(record: LogRecord): Promise<Outcome>;
}

/** A log held in memory, applied on write: for unit tests and single-process tools. */
export class MemoryLog implements LogBackend {
  readonly state = new RegistryState();
  readonly records: LogRecord[] = [];
  async sync(): Promise<void> {}
  async write(record: LogRecord): Promise<Outcome> {
    this.records.push(record);
    return this.state.apply(record);
  }
}

/** A request body's schema part, as clients send it. */
export interface SchemaInput {
  schema: string;
  schemaType?: string;
  references?: SchemaReference[];
}

export interface SubjectVersion {
  subject: string;
  id: number;
  version: number;
  schema: string;
  schemaType: SchemaType;
  references: SchemaReference[];
}

export type VersionSelector = number | 'latest';

const MAX_WRITE_ATTEMPTS = 8;

interface PreparedSchema {
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
  type: Type;
}

function outcomeError(outcome: Outcome): RegistryError | undefined {
  if (outcome.kind !== 'error') return undefined;
  const { status, errorCode, message } = outcome.error;
  return new RegistryError(status, errorCode, message);
}

/**
 * The registry's operations over a log: validation, compatibility checks and
 * lookups happen here, state changes go through the log. Errors are
 * `RegistryError`s carrying Confluent's codes.
 */
export class SchemaStore {
  private readonly types = new Map<number, Type>();

  constructor(private readonly log: LogBackend) {}

  private get state(): RegistryState {
    return this.log.state;
  }

  // ---- schema parsing ----

  private validateInput(input: SchemaInput): { schemaType: SchemaType; references: SchemaReference[] } {
    if (typeof input.schema !== 'string' || input.schema.trim() === '') {
      throw errors.invalidSchema('the "schema" field must be a non-empty string');
    }
    const schemaType = (input.schemaType ?? 'AVRO').toUpperCase();
    if (schemaType !== 'AVRO') {
      throw errors.invalidSchema(`schemaType ${schemaType} is not supported by this registry (AVRO only)`);
    }
    const refs = input.references ?? [];
    if (!Array.isArray(refs)) throw errors.invalidSchema('"references" must be an array');
    const references: SchemaReference[] = refs.map((r: unknown) => {
      const ref = r as Partial<SchemaReference> | null;
      if (
        ref === null ||
        typeof ref !== 'object' ||
        typeof ref.name !== 'string' ||
        typeof ref.subject !== 'string' ||
        typeof ref.version !== 'number' ||
        !Number.isInteger(ref.version)
      ) {
        throw errors.invalidSchema('each reference needs a string "name", a string "subject" and an integer "version"');
      }
      return { name: ref.name, subject: ref.subject, version: ref.version };
    });
    return { schemaType: 'AVRO', references };
  }

  /** Texts of the referenced schemas, dependencies first, each once. */
  private referencedTexts(references: readonly SchemaReference[], seen = new Set<number>()): string[] {
    const out: string[] = [];
    for (const ref of references) {
      const version = ref.version === -1 ? this.latest(ref.subject) : this.findVersion(ref.subject, ref.version, true);
      if (!version) {
        throw errors.invalidSchema(
          `reference "${ref.name}" to subject '${ref.subject}' version ${ref.version} not found`,
        );
      }
      if (seen.has(version.id)) continue;
      seen.add(version.id);
      const entry = this.state.schemaById(version.id);
      if (!entry) continue;
      out.push(...this.referencedTexts(entry.references, seen), entry.schema);
    }
    return out;
  }

  private prepare(input: SchemaInput): PreparedSchema {
    const { schemaType, references } = this.validateInput(input);
    const parsed = parseAvro(input.schema, this.referencedTexts(references));
    if (!parsed.ok) throw errors.invalidSchema(parsed.error);
    return { schemaType, references, schema: normaliseSchemaText(input.schema), type: parsed.type };
  }

  private typeOf(id: number): Type {
    const cached = this.types.get(id);
    if (cached) return cached;
    const entry = this.state.schemaById(id);
    if (!entry) throw errors.schemaNotFound(`Schema ${id} not found`);
    const parsed = parseAvro(entry.schema, this.referencedTexts(entry.references));
    if (!parsed.ok) throw errors.backend(`stored schema ${id} does not parse: ${parsed.error}`);
    this.types.set(id, parsed.type);
    return parsed.type;
  }

  // ---- lookups (callers sync first where a miss matters) ----

  private findVersion(subject: string, version: number, includeDeleted: boolean): VersionEntry | undefined {
    return this.state.versions(subject, includeDeleted).find((v) => v.version === version);
  }

  private latest(subject: string): VersionEntry | undefined {
    const live = this.state.versions(subject);
    return live[live.length - 1];
  }

  private toSubjectVersion(subject: string, v: VersionEntry): SubjectVersion {
    const entry = this.state.schemaById(v.id);
    if (!entry) throw errors.backend(`schema ${v.id} of subject '${subject}' version ${v.version} is missing`);
    return {
      subject,
      id: v.id,
      version: v.version,
      schema: entry.schema,
      schemaType: entry.schemaType,
      references: entry.references,
    };
  }

  /** Reads that miss catch up with the log once before answering "not found". */
  private async withSync<T>(read: () => T | undefined): Promise<T | undefined> {
    const first = read();
    if (first !== undefined) return first;
    await this.log.sync();
    return read();
  }

  async schemaById(id: number): Promise<SchemaEntry> {
    const entry = await this.withSync(() => this.state.schemaById(id));
    if (!entry) throw errors.schemaNotFound(`Schema ${id} not found`);
    return entry;
  }

  async subjectsOfId(id: number, includeDeleted: boolean): Promise<string[]> {
    const versions = await this.versionsOfId(id, includeDeleted);
    return [...new Set(versions.map((v) => v.subject))];
  }

  async versionsOfId(id: number, includeDeleted: boolean): Promise<{ subject: string; version: number }[]> {
    await this.log.sync();
    await this.schemaById(id);
    return this.state.usagesOf(id, includeDeleted);
  }

  async subjects(includeDeleted: boolean): Promise<string[]> {
    await this.log.sync();
    return this.state.subjectNames(includeDeleted);
  }

  async versions(subject: string, includeDeleted: boolean): Promise<number[]> {
    await this.log.sync();
    const versions = this.state.versions(subject, includeDeleted);
    if (versions.length === 0) throw errors.subjectNotFound(subject);
    return versions.map((v) => v.version);
  }

  /** "latest" always catches up first; a fixed version only when it is missing. */
  async getVersion(subject: string, selector: VersionSelector, includeDeleted: boolean): Promise<SubjectVersion> {
    if (selector === 'latest') await this.log.sync();
    const found = await this.withSync(() => {
      if (this.state.versions(subject, includeDeleted).length === 0) return undefined;
      return selector === 'latest' ? this.latest(subject) : this.findVersion(subject, selector, includeDeleted);
    });
    if (found) return this.toSubjectVersion(subject, found);
    if (this.state.versions(subject, includeDeleted).length === 0) throw errors.subjectNotFound(subject);
    throw errors.versionNotFound(subject, selector);
  }

  async referencedBy(subject: string, selector: VersionSelector): Promise<number[]> {
    const v = await this.getVersion(subject, selector, false);
    return this.state.referencedBy(subject, v.version);
  }

  /** POST /subjects/{s}: the version of `subject` that holds this schema. */
  async lookup(subject: string, input: SchemaInput, includeDeleted: boolean): Promise<SubjectVersion> {
    await this.log.sync();
    if (this.state.versions(subject, includeDeleted).length === 0) throw errors.subjectNotFound(subject);
    const prepared = this.prepare(input);
    const id = this.state.idOf(prepared.schemaType, prepared.schema, prepared.references);
    const versions = this.state.versions(subject, includeDeleted).filter((v) => v.id === id);
    const match = versions[versions.length - 1];
    if (id === undefined || !match) throw errors.schemaNotFound();
    return this.toSubjectVersion(subject, match);
  }

  // ---- compatibility ----

  private previousSchemas(subject: string): PreviousSchema[] {
    return this.state.versions(subject).map((v) => ({ version: v.version, type: this.typeOf(v.id) }));
  }

  async testCompatibility(
    subject: string,
    selector: VersionSelector | 'all',
    input: SchemaInput,
  ): Promise<CompatibilityResult> {
    await this.log.sync();
    const prepared = this.prepare(input);
    const level = this.state.effectiveLevel(subject);
    const live = this.previousSchemas(subject);
    if (selector === 'all') return checkCompatibility(prepared.type, live, level);
    if (live.length === 0) {
      if (selector === 'latest') return { compatible: true, messages: [] };
      throw errors.subjectNotFound(subject);
    }
    const target = selector === 'latest' ? live[live.length - 1] : live.find((p) => p.version === selector);
    if (!target) throw errors.versionNotFound(subject, selector);
    // Against one chosen version the level's direction applies, not its transitivity.
    const direct = level.replace('_TRANSITIVE', '') as CompatibilityLevel;
    return checkCompatibility(prepared.type, [target], direct);
  }

  // ---- writes ----

  /**
   * Registers `input` under `subject`: the existing id when the subject
   * already has it, else a compatibility check against the subject's live
   * versions and a record in the log. A record whose subject changed after
   * the check (another instance won the race) is not applied; the check is
   * then repeated on the new state.
   */
  async register(subject: string, input: SchemaInput): Promise<{ id: number; version: number }> {
    await this.log.sync();
    const prepared = this.prepare(input);
    for (let attempt = 0; attempt < MAX_WRITE_ATTEMPTS; attempt++) {
      const id = this.state.idOf(prepared.schemaType, prepared.schema, prepared.references);
      const existing = id === undefined ? undefined : this.state.versions(subject).find((v) => v.id === id);
      if (existing) return { id: existing.id, version: existing.version };
      const epoch = this.state.epoch(subject);
      const level = this.state.effectiveLevel(subject);
      const result = checkCompatibility(prepared.type, this.previousSchemas(subject), level);
      if (!result.compatible) throw errors.incompatible(subject, result.messages);
      const outcome = await this.log.write({
        type: 'register',
        requestId: randomUUID(),
        subject,
        schemaType: prepared.schemaType,
        schema: prepared.schema,
        references: prepared.references,
        expectedEpoch: epoch,
      });
      if (outcome.kind === 'registered') {
        this.types.set(outcome.id, prepared.type);
        return { id: outcome.id, version: outcome.version };
      }
      const err = outcomeError(outcome);
      if (err) throw err;
      // conflict: our tail has applied the competing record by now; check again.
    }
    throw errors.backend(`subject '${subject}' kept changing during ${MAX_WRITE_ATTEMPTS} registration attempts`);
  }

  async deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    await this.log.sync();
    const outcome = await this.log.write({ type: 'delete-subject', requestId: randomUUID(), subject, permanent });
    const err = outcomeError(outcome);
    if (err) throw err;
    if (outcome.kind !== 'deleted') throw errors.backend(`unexpected outcome ${outcome.kind}`);
    return outcome.versions;
  }

  async deleteVersion(subject: string, selector: VersionSelector, permanent: boolean): Promise<number> {
    await this.log.sync();
    let version: number;
    if (selector === 'latest') {
      const latest = permanent ? this.state.versions(subject, true).at(-1) : this.latest(subject);
      if (!latest) throw errors.subjectNotFound(subject);
      version = latest.version;
    } else {
      version = selector;
    }
    const outcome = await this.log.write({
      type: 'delete-version',
      requestId: randomUUID(),
      subject,
      version,
      permanent,
    });
    const err = outcomeError(outcome);
    if (err) throw err;
    return version;
  }

  async globalLevel(): Promise<CompatibilityLevel> {
    await this.log.sync();
    return this.state.globalLevel();
  }

  /** The subject's own level, or undefined when it has none. */
  async subjectLevel(subject: string): Promise<CompatibilityLevel | undefined> {
    await this.log.sync();
    return this.state.subjectLevel(subject);
  }

  /** Sets (or with null removes) a level; returns the previous setting. */
  async setLevel(subject: string | null, level: CompatibilityLevel | null): Promise<CompatibilityLevel | undefined> {
    const outcome = await this.log.write({ type: 'config', requestId: randomUUID(), subject, compatibility: level });
    if (outcome.kind !== 'config') throw outcomeError(outcome) ?? errors.backend(`unexpected outcome ${outcome.kind}`);
    return outcome.previous;
  }
}
