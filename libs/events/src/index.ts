export * from './model';
export * from './partition-key';
export * from './envelope';
