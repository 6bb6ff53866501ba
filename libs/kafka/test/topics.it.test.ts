import { createTopicsAndWait, ensureTopics, TOPICS, topicName } from '../src';
import { testKafka, uniquePrefix } from './support';

describe('ensureTopics', () => {
  const kafka = testKafka();
  const admin = kafka.admin();
  beforeAll(() => admin.connect());
  afterAll(() => admin.disconnect());

  it('creates the declared topics with their partitions and compaction, and is idempotent', async () => {
    const prefix = uniquePrefix('topics');
    const specs = [TOPICS.eventsRaw, TOPICS.dedupeChangelog];
    await ensureTopics(admin, specs, prefix);
    await ensureTopics(admin, specs, prefix);
    const meta = await admin.fetchTopicMetadata({ topics: specs.map((s) => topicName(prefix, s.name)) });
    expect(meta.topics.map((t) => t.partitions.length)).toEqual([12, 12]);
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: 2, name: topicName(prefix, TOPICS.dedupeChangelog.name), configNames: ['cleanup.policy'] }],
    });
    expect(configs.resources[0].configEntries[0].configValue).toBe('compact,delete');
  });

  it('refuses a topic with fewer partitions than declared', async () => {
    const prefix = uniquePrefix('short');
    await createTopicsAndWait(admin, [{ topic: topicName(prefix, TOPICS.eventsRaw.name), numPartitions: 2 }]);
    await expect(ensureTopics(admin, [TOPICS.eventsRaw], prefix)).rejects.toThrow(
      /has 2 partitions but Sluice declares 12/,
    );
  });
});
