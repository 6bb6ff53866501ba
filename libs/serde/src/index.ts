export * from './schemas';
export * from './serde';
