import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { S3Store } from '@sluice/lake';
import {
  expectedCounts,
  LoaderProcess,
  makeEvents,
  S3_ENDPOINT,
  suffix,
  TestProducer,
  waitForLake,
} from './support/harness';

jest.setTimeout(300000);

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const region = 'us-east-1';

test('loads into Delta tables on S3 (moto), read back by delta-rs', async () => {
  const run = suffix();
  const prefix = `it-${run}.`;
  const bucket = `sluice-loader-it-${run}`;
  await new S3Store({ bucket, endpoint: S3_ENDPOINT, region, credentials, forcePathStyle: true }).client.send(
    new CreateBucketCommand({ Bucket: bucket }),
  );
  const prod = new TestProducer(prefix);
  await prod.connect();
  const l = new LoaderProcess({
    SLUICE_TOPIC_PREFIX: prefix,
    LOADER_GROUP_ID: `g-${run}`,
    LAKE_URL: `s3://${bucket}/lake`,
    S3_ENDPOINT,
    AWS_REGION: region,
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    LOADER_FLUSH_MS: '300',
  });
  try {
    await l.start();
    const n = 200;
    await prod.sendEvents(makeEvents(run, 0, n, n));
    const want = expectedCounts(n);
    const r = await waitForLake(
      {
        root: `s3://${bucket}/lake/delta`,
        tables: Object.keys(want),
        storage_options: {
          AWS_ENDPOINT_URL: S3_ENDPOINT,
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_REGION: region,
          AWS_ALLOW_HTTP: 'true',
          AWS_S3_ALLOW_UNSAFE_RENAME: 'true',
        },
      },
      (x) => Object.entries(want).every(([t, c]) => x[t]?.rows === c && x[t]?.distinct_ids === c),
    );
    for (const [t, c] of Object.entries(want)) expect([t, r[t]!.rows, r[t]!.distinct_ids]).toEqual([t, c, c]);
    expect(await l.terminate()).toBe(0);
  } finally {
    if (l.running) await l.kill9();
    await prod.close();
  }
});
