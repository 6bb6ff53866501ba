/**
 * Events per second through the processor's pure logic: dedupe check,
 * planFanOut (suppression, tracking plan, integrations, filters, consent),
 * with and without a user transformation in the sandbox, batches of 100.
 *
 *   npx tsx bench/processing/sandbox.ts [events=20000]
 */
import { buildSnapshot, parseWorkspace } from '@sluice/workspace';
import { DedupeIndex, planFanOut, SluiceEvent, TrackingPlanCompiler } from '@sluice/processing';
import { JsonEvent, TransformSandbox } from '@sluice/transform-sandbox';

const TOTAL = Number(process.argv[2] ?? 20_000);
const BATCH = 100;

const TRANSFORMATION = `
export function transformEvent(event, metadata) {
  if (/^internal/i.test(event.event || '')) return null;
  event.event = String(event.event).toLowerCase();
  event.properties = Object.assign({}, event.properties, { revenue_cents: Math.round((event.properties.revenue || 0) * 100), source: metadata.sourceId });
  return event;
}`;

function workspace() {
  const res = parseWorkspace({
    sources: [{ id: 'web', name: 'Web', type: 'http', writeKey: 'bench-write-key' }],
    destinations: [
      { id: 'lake', name: 'Lake', type: 'delta', config: { location: '/tmp/bench-lake' } },
      {
        id: 'hook',
        name: 'Hook',
        type: 'webhook',
        config: { url: 'http://127.0.0.1:9/h' },
        eventFilters: { deny: { events: ['Debug'] } },
      },
      { id: 'amp', name: 'Amplitude', type: 'amplitude', config: { apiKey: 'k' }, consentCategories: ['analytics'] },
    ],
    connections: [
      { sourceId: 'web', destinationId: 'lake' },
      { sourceId: 'web', destinationId: 'hook', transformationId: 'tx' },
      { sourceId: 'web', destinationId: 'amp' },
    ],
    transformations: [{ id: 'tx', name: 'Bench', code: TRANSFORMATION }],
    trackingPlans: [
      {
        id: 'tp',
        version: 1,
        sourceIds: ['web'],
        rules: {
          events: {
            'Order Completed': {
              properties: {
                type: 'object',
                properties: {
                  order_id: { type: 'string' },
                  revenue: { type: 'number' },
                  currency: { type: 'string' },
                  sku: { type: 'string' },
                },
                required: ['order_id'],
              },
            },
          },
        },
      },
    ],
    suppressedUsers: { userIds: ['suppressed-1'] },
  });
  if (!res.ok) throw new Error(res.problems.join('\n'));
  return buildSnapshot(res.config);
}

function event(i: number): SluiceEvent {
  return {
    type: 'track',
    event: 'Order Completed',
    messageId: `bench-${i}`,
    anonymousId: `anon-${i % 5000}`,
    userId: `user-${i % 3000}`,
    properties: { order_id: `o-${i}`, revenue: (i % 997) / 10, currency: 'EUR', sku: `sku-${i % 50}` },
    context: {
      library: { name: 'analytics-node', version: '2.0.0' },
      ip: '203.0.113.9',
      consent: { categoryPreferences: { analytics: i % 4 !== 0 } },
    },
    timestamp: '2026-11-22T01:00:00.000Z',
  };
}

async function run(withTransformation: boolean): Promise<number> {
  const snapshot = workspace();
  const compiler = new TrackingPlanCompiler();
  const dedupe = new DedupeIndex();
  const sandbox = withTransformation ? await TransformSandbox.create({ id: 'tx', code: TRANSFORMATION }) : undefined;
  if (sandbox?.error) throw new Error(sandbox.error);
  const events = Array.from({ length: TOTAL }, (_, i) => event(i));
  const now = Date.now();
  let delivered = 0;
  const started = process.hrtime.bigint();
  for (let b = 0; b < events.length; b += BATCH) {
    const toTransform: JsonEvent[] = [];
    for (const ev of events.slice(b, b + BATCH)) {
      const seen = dedupe.check(b % 12, 'web', ev.messageId as string, now);
      if (seen.duplicate) continue;
      const plan = planFanOut(ev, snapshot, 'web', { compiler, nowMs: now });
      if (plan.kind !== 'ok') continue;
      for (const d of plan.destinations) {
        if (d.kind !== 'deliver') continue;
        if (d.transformationId && sandbox) toTransform.push(d.event as JsonEvent);
        else delivered++;
      }
    }
    if (sandbox && toTransform.length > 0) {
      const out = await sandbox.run(toTransform, { sourceId: 'web', destinationId: 'hook' });
      for (const r of out.results) if (r.kind === 'ok') delivered += r.events.length;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  sandbox?.dispose();
  if (delivered === 0) throw new Error('nothing was delivered');
  return TOTAL / seconds;
}

async function main(): Promise<void> {
  // Warm-up (JIT, ajv compile, worker start), then the measured runs.
  await run(false);
  await run(true);
  const plain = await run(false);
  const transformed = await run(true);
  console.log(`events: ${TOTAL}, batches of ${BATCH}, node ${process.version}`);
  console.log(
    `dedupe + planFanOut (3 destinations, tracking plan, consent):  ${Math.round(plain).toLocaleString('en-US')} events/s`,
  );
  console.log(
    `... plus a transformation in the QuickJS sandbox worker:       ${Math.round(transformed).toLocaleString('en-US')} events/s`,
  );
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
