import { buildConfig } from '@sluice/config';
import { readS3Env, s3StoreConfigSchema, S3Store } from '../src';

describe('S3 store config', () => {
  it('reads the environment into the schema with defaults', () => {
    const config = buildConfig('test', s3StoreConfigSchema, readS3Env, {
      S3_BUCKET: 'lake',
      S3_ENDPOINT: 'http://127.0.0.1:9000',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
    });
    expect(config).toEqual({
      bucket: 'lake',
      prefix: '',
      region: 'us-east-1',
      endpoint: 'http://127.0.0.1:9000',
      forcePathStyle: true,
      maxAttempts: 5,
      credentials: { accessKeyId: 'id', secretAccessKey: 'secret' },
    });
  });
  it('rejects a missing bucket and a half-given credential', () => {
    expect(() => buildConfig('test', s3StoreConfigSchema, readS3Env, {})).toThrow(/bucket/);
    expect(() =>
      buildConfig('test', s3StoreConfigSchema, readS3Env, { S3_BUCKET: 'b', AWS_ACCESS_KEY_ID: 'id' }),
    ).toThrow(/secretAccessKey/);
  });
  it('names its location as a URL', () => {
    expect(new S3Store({ bucket: 'b', prefix: '/p/q/', region: 'eu-west-1' }).url).toBe('s3://b/p/q');
  });
});
