export * from './schema';
export * from './destination-types';
export * from './parse';
export * from './snapshot';
export * from './store';
