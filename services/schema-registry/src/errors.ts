/**
 * Errors as Confluent's Schema Registry reports them: an HTTP status plus a
 * finer `error_code` that clients (and people) match on.
 */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
    /** True when the same request may succeed later (backend unavailable, timeout). */
    readonly retriable = false,
  ) {
    super(message);
    this.name = 'RegistryError';
  }

  toBody(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const ErrorCode = {
  subjectNotFound: 40401,
  versionNotFound: 40402,
  schemaNotFound: 40403,
  subjectSoftDeleted: 40404,
  subjectNotSoftDeleted: 40405,
  versionSoftDeleted: 40406,
  versionNotSoftDeleted: 40407,
  subjectLevelCompatibilityNotConfigured: 40408,
  incompatibleSchema: 409,
  invalidSchema: 42201,
  invalidVersion: 42202,
  invalidCompatibilityLevel: 42203,
  backendStore: 50001,
  operationTimeout: 50002,
} as const;

export const errors = {
  subjectNotFound: (subject: string) =>
    new RegistryError(404, ErrorCode.subjectNotFound, `Subject '${subject}' not found.`),
  versionNotFound: (subject: string, version: number | string) =>
    new RegistryError(404, ErrorCode.versionNotFound, `Version ${version} not found for subject '${subject}'.`),
  schemaNotFound: (detail = 'Schema not found') => new RegistryError(404, ErrorCode.schemaNotFound, detail),
  subjectSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      ErrorCode.subjectSoftDeleted,
      `Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`,
    ),
  subjectNotSoftDeleted: (subject: string) =>
    new RegistryError(
      404,
      ErrorCode.subjectNotSoftDeleted,
      `Subject '${subject}' was not deleted first before being permanently deleted`,
    ),
  versionSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      ErrorCode.versionSoftDeleted,
      `Subject '${subject}' Version ${version} was soft deleted. Set permanent=true to delete permanently`,
    ),
  versionNotSoftDeleted: (subject: string, version: number) =>
    new RegistryError(
      404,
      ErrorCode.versionNotSoftDeleted,
      `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`,
    ),
  subjectLevelCompatibilityNotConfigured: (subject: string) =>
    new RegistryError(
      404,
      ErrorCode.subjectLevelCompatibilityNotConfigured,
      `Subject '${subject}' does not have subject-level compatibility configured`,
    ),
  incompatible: (subject: string, details: string[]) =>
    new RegistryError(
      409,
      ErrorCode.incompatibleSchema,
      `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${details.join('; ')}]`,
    ),
  invalidSchema: (detail: string) => new RegistryError(422, ErrorCode.invalidSchema, `Invalid schema: ${detail}`),
  invalidVersion: (version: string) =>
    new RegistryError(
      422,
      ErrorCode.invalidVersion,
      `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
    ),
  invalidCompatibilityLevel: (level: unknown) =>
    new RegistryError(
      422,
      ErrorCode.invalidCompatibilityLevel,
      `Invalid compatibility level ${JSON.stringify(level)}. Valid values are NONE, BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE`,
    ),
  backend: (detail: string) =>
    new RegistryError(500, ErrorCode.backendStore, `Error in the backend data store: ${detail}`, true),
  timeout: (detail: string) =>
    new RegistryError(500, ErrorCode.operationTimeout, `Operation timed out: ${detail}`, true),
};
