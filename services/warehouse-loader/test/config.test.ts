import { ConfigError } from '@sluice/config';
import { loadLoaderConfig, parseLakeUrl } from '../src/config';

describe('loader config', () => {
  test('defaults: local lake folder, Delta, 3 s / 20,000 events flush', () => {
    const c = loadLoaderConfig({});
    expect(c.lake).toEqual({ kind: 'local', root: '.local/lake' });
    expect(c.format).toBe('delta');
    expect(c.flush).toEqual({ maxEvents: 20000, intervalMs: 3000 });
    expect(c.groupId).toBe('sluice-warehouse-loader');
    expect(c.identity).toBe(true);
    expect(c.snowflake).toBeUndefined();
    expect(c.workers).toBe(1);
    expect(c.maxBufferedEvents).toBeUndefined();
  });

  test('LOADER_WORKERS and LOADER_MAX_BUFFERED_EVENTS', () => {
    const c = loadLoaderConfig({ LOADER_WORKERS: '3', LOADER_MAX_BUFFERED_EVENTS: '50000' });
    expect(c.workers).toBe(3);
    expect(c.maxBufferedEvents).toBe(50000);
    expect(() => loadLoaderConfig({ LOADER_WORKERS: '0' })).toThrow(/workers/);
  });

  test('S3 lake from LAKE_URL and the AWS variables', () => {
    const c = loadLoaderConfig({
      LAKE_URL: 's3://bucket/some/prefix/',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
      LAKE_FORMAT: 'both',
      LOADER_FLUSH_MS: '1000',
      LOADER_FLUSH_EVENTS: '500',
      SLUICE_TOPIC_PREFIX: 't.',
      KAFKA_BROKERS: 'a:1,b:2',
    });
    expect(c.lake).toEqual({
      kind: 's3',
      bucket: 'bucket',
      prefix: 'some/prefix',
      region: 'eu-west-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      credentials: { accessKeyId: 'k', secretAccessKey: 's' },
    });
    expect(c.format).toBe('both');
    expect(c.flush).toEqual({ maxEvents: 500, intervalMs: 1000 });
    expect(c.kafka.topicPrefix).toBe('t.');
    expect(c.kafka.brokers).toEqual(['a:1', 'b:2']);
  });

  test('file:// URLs and plain paths', () => {
    expect(parseLakeUrl('file:///data/lake', {})).toEqual({ kind: 'local', root: '/data/lake' });
    expect(parseLakeUrl('lake', {})).toEqual({ kind: 'local', root: 'lake' });
  });

  test('invalid settings fail at start-up with every problem', () => {
    expect(() => loadLoaderConfig({ LAKE_FORMAT: 'csv', LOADER_FLUSH_MS: 'soon' })).toThrow(ConfigError);
  });

  test('Snowflake and Databricks stages from SNOWFLAKE_* and DATABRICKS_*', () => {
    const c = loadLoaderConfig({
      SNOWFLAKE_ACCOUNT: 'acme-xy12345',
      SNOWFLAKE_USER: 'loader',
      SNOWFLAKE_PASSWORD: 'pw',
      SNOWFLAKE_DATABASE: 'ANALYTICS',
      SNOWFLAKE_ACCESS_URL: 'http://127.0.0.1:8085',
      DATABRICKS_HOST: 'dbc-1.cloud.databricks.com',
      DATABRICKS_HTTP_PATH: '/sql/1.0/warehouses/abc',
      DATABRICKS_TOKEN: 'dapi',
      DATABRICKS_CATALOG: 'main',
      DATABRICKS_VOLUME: '/Volumes/main/sluice/staging',
    });
    expect(c.snowflake).toEqual({
      account: 'acme-xy12345',
      username: 'loader',
      password: 'pw',
      database: 'ANALYTICS',
      schema: 'PUBLIC',
      accessUrl: 'http://127.0.0.1:8085',
      stage: 'sluice_stage',
    });
    expect(c.databricks).toEqual({
      host: 'dbc-1.cloud.databricks.com',
      httpPath: '/sql/1.0/warehouses/abc',
      token: 'dapi',
      catalog: 'main',
      schema: 'default',
      volume: '/Volumes/main/sluice/staging',
    });
  });

  test('an incomplete warehouse setting stops the start with the names of the bad settings', () => {
    expect(() => loadLoaderConfig({ SNOWFLAKE_ACCOUNT: 'acme' })).toThrow(/snowflake\.(username|password|database)/);
    expect(() =>
      loadLoaderConfig({
        DATABRICKS_HOST: 'h',
        DATABRICKS_HTTP_PATH: '/p',
        DATABRICKS_TOKEN: 't',
        DATABRICKS_CATALOG: 'c',
        DATABRICKS_VOLUME: 's3://not-a-volume',
      }),
    ).toThrow(/databricks\.volume/);
  });
});
