export * from './config';
export * from './convert';
export * from './source';
