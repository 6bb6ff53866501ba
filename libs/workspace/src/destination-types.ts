import { z } from 'zod';

/**
 * What the workspace knows about a destination type: the name users write in
 * the `integrations` object, the other spellings SDKs send (RudderStack's
 * definition names, for instance), whether it is a lake/warehouse (loaded
 * from `events.processed` rather than delivered through a destination topic),
 * and the shape of its `config`.
 *
 * Config schemas check only what a destination cannot work without; unknown
 * keys are kept (`passthrough`) so destination code can grow options freely.
 */
export interface DestinationTypeInfo {
  displayName: string;
  aliases: readonly string[];
  lake: boolean;
  configSchema: z.ZodTypeAny;
}

const nonEmpty = z.string().min(1, 'required');
const url = z.string().url('must be a URL');
/** Every HTTP destination may point at another base URL (a proxy, an EU data centre, a test stand-in). */
const endpoint = { endpoint: url.optional() };

export const BUILTIN_DESTINATION_TYPES: Readonly<Record<string, DestinationTypeInfo>> = {
  webhook: {
    displayName: 'Webhook',
    aliases: ['WEBHOOK', 'Generic Webhook'],
    lake: false,
    configSchema: z
      .object({
        url,
        method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
        headers: z.record(z.string()).default({}),
      })
      .passthrough(),
  },
  kafka: {
    displayName: 'Kafka',
    aliases: ['KAFKA', 'Apache Kafka'],
    lake: false,
    configSchema: z.object({ topic: nonEmpty, brokers: z.array(nonEmpty).optional() }).passthrough(),
  },
  amplitude: {
    displayName: 'Amplitude',
    aliases: ['AM', 'AMPLITUDE'],
    lake: false,
    configSchema: z.object({ apiKey: nonEmpty, ...endpoint }).passthrough(),
  },
  mixpanel: {
    displayName: 'Mixpanel',
    aliases: ['MP', 'MIXPANEL'],
    lake: false,
    configSchema: z.object({ projectToken: nonEmpty, apiSecret: z.string().optional(), ...endpoint }).passthrough(),
  },
  hubspot: {
    displayName: 'HubSpot',
    aliases: ['HS', 'HUBSPOT'],
    lake: false,
    configSchema: z.object({ accessToken: nonEmpty, ...endpoint }).passthrough(),
  },
  braze: {
    displayName: 'Braze',
    aliases: ['BRAZE'],
    lake: false,
    configSchema: z.object({ apiKey: nonEmpty, restEndpoint: url }).passthrough(),
  },
  ga4: {
    displayName: 'Google Analytics 4',
    aliases: ['GA4', 'Google Analytics 4 (GA4)'],
    lake: false,
    configSchema: z.object({ measurementId: nonEmpty, apiSecret: nonEmpty, ...endpoint }).passthrough(),
  },
  customerio: {
    displayName: 'Customer.io',
    aliases: ['CUSTOMERIO', 'Customer IO', 'customer.io'],
    lake: false,
    configSchema: z.object({ siteId: nonEmpty, apiKey: nonEmpty, ...endpoint }).passthrough(),
  },
  salesforce: {
    displayName: 'Salesforce',
    aliases: ['SALESFORCE', 'SFDC'],
    lake: false,
    configSchema: z.object({ instanceUrl: url }).passthrough(),
  },
  redis: {
    displayName: 'Redis',
    aliases: ['REDIS'],
    lake: false,
    configSchema: z.object({ url: z.string().min(1).default('redis://127.0.0.1:6379') }).passthrough(),
  },
  delta: {
    displayName: 'Delta Lake',
    aliases: ['DELTALAKE', 'Delta', 'Databricks Delta Lake'],
    lake: true,
    configSchema: z
      .object({
        /** `s3://bucket/prefix` or a local folder. */
        location: nonEmpty,
        namespace: z.string().default('sluice'),
      })
      .passthrough(),
  },
  parquet: {
    displayName: 'Parquet',
    aliases: ['S3', 'Amazon S3', 'S3_DATALAKE'],
    lake: true,
    configSchema: z.object({ location: nonEmpty, namespace: z.string().default('sluice') }).passthrough(),
  },
  snowflake: {
    displayName: 'Snowflake',
    aliases: ['SNOWFLAKE'],
    lake: true,
    configSchema: z
      .object({
        account: nonEmpty,
        user: nonEmpty,
        database: nonEmpty,
        schema: z.string().default('SLUICE'),
        warehouse: nonEmpty,
      })
      .passthrough(),
  },
};

/** Lower-cased letters and digits only: "Customer.io", "customer io" and "CUSTOMERIO" compare equal. */
export function normalizeIntegrationName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}
