export * from './core/event';
export * from './core/types';
export * from './core/http';
export * from './core/configure';
export { collect, runs, unsupported, type Mapped } from './core/collect';
export { destinations, destinationType } from './registry';
export { webhook, webhookConfigSchema, webhookSignature, type WebhookConfig } from './webhook';
export { kafkaDestination, kafkaDestinationConfigSchema, type KafkaDestinationConfig } from './kafka';
export {
  redisDestination,
  redisDestinationConfigSchema,
  createRedisExecutor,
  type RedisDestinationConfig,
  type MultiCapableRedis,
} from './redis';
export { amplitude, amplitudeConfigSchema, type AmplitudeConfig } from './amplitude';
export { mixpanel, mixpanelConfigSchema, type MixpanelConfig } from './mixpanel';
export { hubspot, hubspotConfigSchema, type HubSpotConfig } from './hubspot';
export { braze, brazeConfigSchema, type BrazeConfig } from './braze';
export { ga4, ga4ConfigSchema, type Ga4Config } from './ga4';
export { customerio, customerioConfigSchema, type CustomerioConfig } from './customerio';
export { salesforce, salesforceAuth, salesforceConfigSchema, type SalesforceConfig } from './salesforce';
