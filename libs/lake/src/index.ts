export * from './types';
export * from './naming';
export * from './flatten';
export * from './rows';
export * from './schema';
export * from './parquet';
