export * from './config';
export * from './workspace';
export * from './webhook';
export * from './deliverers';
export * from './metrics';
export * from './router';
export * from './follow';
