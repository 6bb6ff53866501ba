import { webhookDest } from './support';
import {
  produceEvents,
  readDeadLetters,
  Receiver,
  runRouter,
  testKafka,
  testSerde,
  uniquePrefix,
  waitFor,
} from './support';

const kafka = testKafka();
const serde = testSerde();

describe('retry window across a router restart', () => {
  it('dead-letters a failing event when its original window ends, not a fresh window after the restart', async () => {
    const prefix = uniquePrefix('window');
    const rx = await new Receiver().start();
    rx.decide = (events) => (events.some((e) => e.user === 'stuck') ? { status: 503 } : { status: 200 });
    const windowMs = 12000;
    const delivery = { retryWindowMs: windowMs, minAttempts: 3, minBackoffMs: 500, maxBackoffMs: 1000 };
    const dests = [webhookDest('hook', rx.url)];
    const stuckTries = () => rx.attempts.filter((a) => a.events.some((e) => e.user === 'stuck'));

    const first = await runRouter(prefix, dests, delivery);
    let firstStopped = false;
    let second: Awaited<ReturnType<typeof runRouter>> | undefined;
    try {
      await produceEvents(kafka, serde, prefix, 'hook', [
        { user: 'stuck', seq: 0, messageId: 'stuck-0' },
        { user: 'fine', seq: 0, messageId: 'fine-0' },
      ]);
      await waitFor(() => stuckTries().length >= 2, 60000, 'two failed tries by the first router');
      const firstSeen = stuckTries()[0]!.at;
      await first.router.stop();
      firstStopped = true;
      const triesBefore = stuckTries().length;

      const restartedAt = Date.now();
      second = await runRouter(prefix, dests, delivery);
      const [dl] = await readDeadLetters(kafka, serde, prefix, 1);
      const secondTries = stuckTries().filter((a) => a.at >= restartedAt);
      expect(secondTries.length).toBeGreaterThan(0);
      const secondFirst = secondTries[0]!.at;

      expect(dl).toMatchObject({ messageId: 'stuck-0', errorClass: 'RetryWindowExceeded', lastStatus: 503 });
      // The window is the first router's: it started at that router's first try...
      expect(dl!.firstAttemptAt).toBeLessThanOrEqual(firstSeen);
      expect(dl!.firstAttemptAt).toBeGreaterThan(firstSeen - 2000);
      // ...the attempt count went on from there...
      expect(dl!.attempts).toBe(stuckTries().length);
      expect(dl!.attempts).toBeGreaterThan(triesBefore);
      // ...and it ended when that window did (or at the second router's first try, if that came later),
      // where a fresh window would have run until secondFirst + windowMs.
      expect(dl!.failedAt).toBeGreaterThanOrEqual(dl!.firstAttemptAt! + windowMs);
      expect(dl!.failedAt).toBeLessThan(Math.max(dl!.firstAttemptAt! + windowMs, secondFirst) + 3000);
      expect(dl!.failedAt).toBeLessThan(secondFirst + windowMs);
      expect(rx.accepted.map((e) => e.messageId)).toContain('fine-0');
    } finally {
      await second?.router.stop();
      if (!firstStopped) await first.router.stop();
      await rx.stop();
    }
  });
});
