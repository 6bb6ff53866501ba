export * from './actions';
export * from './table';
export * from './checkpoint';
