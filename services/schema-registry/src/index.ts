export * from './compatibility';
export * from './config';
export * from './errors';
export { createApiHandler, CONTENT_TYPE } from './api';
export { SchemaLog } from './log';
export { startSchemaRegistry, type RunningRegistry } from './registry';
export { RegistryState, type LogRecord, type Outcome, type SchemaEntry, type SchemaReference } from './state';
export { MemoryLog, SchemaStore, type LogBackend, type SchemaInput, type SubjectVersion } from './store';
