export * from './event';
export * from './consent';
export * from './filters';
export * from './tracking-plan';
export * from './identity';
export * from './dedupe';
export * from './fanout';
