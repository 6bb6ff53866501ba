export * from './actions';
export * from './table';
