export * from './types';
export * from './settings';
export * from './token-bucket';
export * from './ranges';
export * from './engine';
export * from './consumer';
export * from './kafka-io';
