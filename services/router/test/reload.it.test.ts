import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { followWorkspace } from '../src/follow';
import { destinationsOf, openWorkspace } from '../src/workspace';
import {
  makeEvents,
  produceEvents,
  Receiver,
  runRouter,
  testKafka,
  testLog,
  testSerde,
  uniquePrefix,
  waitFor,
} from './support';

const kafka = testKafka();
const serde = testSerde();

function writeWorkspace(file: string, destinations: object[]): void {
  // Write-then-rename, as editors and config tools do: the reader never sees half a file.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify({ destinations }, null, 2));
  fs.renameSync(`${file}.tmp`, file);
}

describe('router following workspace changes', () => {
  it('starts an added destination, applies a changed URL and headers, and stops a removed one cleanly', async () => {
    const prefix = uniquePrefix('reload');
    const [oldA, newA, b, c] = await Promise.all([0, 1, 2, 3].map(() => new Receiver().start()));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-router-reload-'));
    const file = path.join(dir, 'workspace.json');
    const hook = (id: string, url: string, extra: object = {}) => ({
      id,
      name: id,
      type: 'webhook',
      config: { url, ...extra },
    });
    writeWorkspace(file, [hook('a', oldA.url), hook('c', c.url)]);
    const store = await openWorkspace(file, testLog, { pollIntervalMs: 300 });
    const { router } = await runRouter(prefix, destinationsOf(store.current()));
    const unfollow = followWorkspace(store, router, undefined, testLog);
    try {
      const before = makeEvents(4, 3, 'before-');
      await produceEvents(kafka, serde, prefix, 'a', before);
      await produceEvents(kafka, serde, prefix, 'c', before);
      await waitFor(() => oldA.accepted.length >= 12 && c.accepted.length >= 12, 60000, 'the first events');

      writeWorkspace(file, [
        hook('a', newA.url, { headers: { 'x-sluice-test': 'v2' } }),
        hook('b', b.url),
        { ...hook('c', c.url), enabled: false },
      ]);
      const applied = () => {
        const ids = router.destinations.map((d) => d.spec.id).sort();
        const a = router.destinations.find((d) => d.spec.id === 'a');
        return JSON.stringify(ids) === '["a","b"]' && a?.spec.config.url === newA.url;
      };
      await waitFor(applied, 60000, 'the router to apply the edited workspace');

      // The disabled destination committed everything it had delivered before it stopped.
      const admin = kafka.admin();
      await admin.connect();
      try {
        const topic = `${prefix}sluice.dest.c`;
        const ends = await admin.fetchTopicOffsets(topic);
        const [committed] = await admin.fetchOffsets({ groupId: `${prefix}sluice-router.c`, topics: [topic] });
        for (const e of ends) {
          const offset = committed!.partitions.find((x) => x.partition === e.partition)?.offset;
          expect({ partition: e.partition, offset: e.high === '0' ? '0' : offset }).toEqual({
            partition: e.partition,
            offset: e.high,
          });
        }
      } finally {
        await admin.disconnect();
      }

      const after = makeEvents(4, 3, 'after-');
      await produceEvents(kafka, serde, prefix, 'a', after);
      await produceEvents(kafka, serde, prefix, 'b', after);
      await produceEvents(kafka, serde, prefix, 'c', after);
      await waitFor(() => newA.distinct() >= 12 && b.distinct() >= 12, 60000, 'events at the new endpoints');
      expect(newA.accepted.every((e) => e.messageId.startsWith('after-'))).toBe(true);
      expect(newA.attempts.every((r) => r.headers['x-sluice-test'] === 'v2')).toBe(true);
      expect(oldA.accepted.some((e) => e.messageId.startsWith('after-'))).toBe(false);
      for (const [user, seqs] of [...newA.perUser(), ...b.perUser()]) {
        expect({ user, seqs }).toEqual({ user, seqs: [0, 1, 2] });
      }
      // Nothing reaches the disabled destination (a grace period, not a timing assertion on delivery).
      await new Promise((r) => setTimeout(r, 2000));
      expect(c.accepted.some((e) => e.messageId.startsWith('after-'))).toBe(false);
      expect(router.skipped).toEqual([]);
    } finally {
      unfollow();
      store.close();
      await router.stop();
      await Promise.all([oldA, newA, b, c].map((r) => r.stop()));
    }
  });
});
