export * from './client';
export * from './topics';
export * from './batch-consumer';
export type { Kafka, Producer, Admin, KafkaMessage, Message, IHeaders } from 'kafkajs';
export * from './transactional-stage';
export * from './partitioner';
export * from './transactional-producers';
export * from './platformatic';
