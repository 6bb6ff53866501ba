export * from './config';
export * from './processor';
export * from './pipeline';
export * from './transformations';
