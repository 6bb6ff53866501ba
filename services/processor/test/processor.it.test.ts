import { loadProcessorConfig, RunningProcessor, startProcessor } from '../src';
import { sandboxRunner } from '../src/sandbox-runner';
import { brokers, Harness, log, registryUrl, settle, uniquePrefix, waitFor, writeWorkspace } from './harness';

const TRANSFORMATION = `
import { tag } from 'tagging';
export function transformEvent(event, metadata) {
  switch (event.event) {
    case 'change': event.properties = { ...event.properties, changed: tag(metadata.destinationId) }; return event;
    case 'split': return [{ ...event, messageId: event.messageId + '-1' }, { ...event, messageId: event.messageId + '-2' }];
    case 'drop': return null;
    case 'throw': throw new Error('boom from user code');
    case 'loop': while (true) {}
    case 'alloc': { const a = []; while (true) a.push(new Array(100000).fill('x')); }
    case 'fs': return require('fs').readFileSync('/etc/passwd', 'utf8');
    case 'process': return process.env;
    case 'fetch': return fetch('http://127.0.0.1:9');
    default: return event;
  }
}`;

const workspace = {
  sources: [
    { id: 'web', name: 'Web', type: 'http', writeKey: 'web-write-key-1' },
    { id: 'planned', name: 'Planned', type: 'http', writeKey: 'planned-write-key-1' },
    { id: 'strict', name: 'Strict', type: 'http', writeKey: 'strict-write-key-1' },
    // No tracking plan and no consent categories: properties, traits and context are not parsed to plan.
    { id: 'bare', name: 'Bare', type: 'http', writeKey: 'bare-write-key-1' },
  ],
  destinations: [
    { id: 'hooks', name: 'Hooks', type: 'webhook', config: { url: 'http://127.0.0.1:9/hook' } },
    { id: 'amp', name: 'Amplitude', type: 'amplitude', config: { apiKey: 'k' }, consentCategories: ['analytics'] },
    { id: 'xf', name: 'Transformed', type: 'webhook', config: { url: 'http://127.0.0.1:9/xf' } },
    { id: 'lake', name: 'Lake', type: 'delta', config: { location: 'unused-by-the-processor' } },
  ],
  connections: [
    { sourceId: 'web', destinationId: 'hooks' },
    { sourceId: 'web', destinationId: 'amp' },
    { sourceId: 'web', destinationId: 'xf', transformationId: 'xf' },
    { sourceId: 'web', destinationId: 'lake' },
    { sourceId: 'planned', destinationId: 'hooks' },
    { sourceId: 'strict', destinationId: 'hooks' },
    { sourceId: 'bare', destinationId: 'hooks' },
    { sourceId: 'bare', destinationId: 'xf', transformationId: 'xf' },
  ],
  transformations: [{ id: 'xf', name: 'Test transformation', code: TRANSFORMATION, libraries: ['tagging'] }],
  transformationLibraries: [{ name: 'tagging', code: "export function tag(x) { return 'tag:' + x; }" }],
  trackingPlans: [
    {
      id: 'forwarding-plan',
      version: 3,
      sourceIds: ['planned'],
      rules: {
        events: {
          'Order Completed': {
            properties: { type: 'object', required: ['total'], properties: { total: { type: 'number' } } },
          },
        },
      },
      settings: { allowUnplannedEvents: true, anyOtherViolation: 'forward' },
    },
    {
      id: 'dropping-plan',
      version: 1,
      sourceIds: ['strict'],
      rules: {
        events: {
          'Order Completed': {
            properties: { type: 'object', required: ['total'], properties: { total: { type: 'number' } } },
          },
        },
      },
      settings: { allowUnplannedEvents: false, anyOtherViolation: 'drop' },
    },
  ],
  suppressedUsers: { userIds: ['suppressed-user'], anonymousIds: [] },
};

function configFor(prefix: string, file: string, instanceId: string) {
  return loadProcessorConfig({
    KAFKA_BROKERS: brokers,
    SCHEMA_REGISTRY_URL: registryUrl,
    SLUICE_TOPIC_PREFIX: prefix,
    WORKSPACE_FILE: file,
    METRICS_PORT: '0',
    PROCESSOR_INSTANCE_ID: instanceId,
    PROCESSOR_SESSION_TIMEOUT_MS: '8000',
    TRANSFORM_TIMEOUT_MS: '1000',
    TRANSFORM_MEMORY_MB: '32',
    LOG_LEVEL: 'warn',
  });
}

async function start(prefix: string, file: string, instanceId: string): Promise<RunningProcessor> {
  const config = configFor(prefix, file, instanceId);
  return startProcessor(config, log, (store) => sandboxRunner(store, config, log));
}

describe('processor on the real stack', () => {
  const prefix = uniquePrefix('proc');
  const file = writeWorkspace(workspace);
  const h = new Harness(prefix, ['hooks', 'amp', 'xf']);
  let processor: RunningProcessor;
  let n = 0;
  const id = (label: string) => `${label}-${n++}`;

  beforeAll(async () => {
    await h.start();
    processor = await start(prefix, file, 'one');
  });
  afterAll(async () => {
    await processor?.stop();
    await h.stop();
  });

  it('fans an event out to each connected destination topic, keyed by user, and to events.processed', async () => {
    const m = id('fanout');
    await h.send([{ messageId: m, anonymousId: 'anon-1', event: 'Viewed', properties: { n: 1 } }]);
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === m), 'the hooks delivery');
    await waitFor(() => h.processed.some((e) => e.messageId === m), 'the processed event');
    const d = h.deliveredTo('hooks').find((x) => x.messageId === m)!;
    expect(d.partitionKey).toBe('a:anon-1');
    expect(d.event.properties).toEqual({ n: 1 });
  });

  it('delivers every field of an event whose source plans without its free-form fields', async () => {
    const m = id('bare');
    const sent = {
      messageId: m,
      anonymousId: 'anon-bare',
      userId: 'user-bare',
      event: 'change',
      properties: { total: 12.5, items: [{ sku: 'a' }], note: 'ü 🚀' },
      context: { page: { path: '/p' }, traits: { plan: 'pro' } },
      integrations: { All: true },
      channel: 'server',
    };
    await h.send([sent], 'bare');
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === m), 'the hooks delivery');
    await waitFor(() => h.deliveredTo('xf').some((d) => d.messageId === m), 'the transformed delivery');
    const plain = h.deliveredTo('hooks').find((d) => d.messageId === m)!.event;
    expect(plain).toMatchObject({ ...sent, type: 'track' });
    const transformed = h.deliveredTo('xf').find((d) => d.messageId === m)!.event;
    expect(transformed).toMatchObject({
      ...sent,
      properties: { ...sent.properties, changed: 'tag:xf' },
    });
  });

  it('drops a duplicate messageId within the window', async () => {
    const m = id('dup');
    await h.send([{ messageId: m, anonymousId: 'anon-dup', event: 'Once' }]);
    await h.send([{ messageId: m, anonymousId: 'anon-dup', event: 'Once' }]);
    const marker = id('marker');
    await h.send([{ messageId: marker, anonymousId: 'anon-dup', event: 'Marker' }]);
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === marker), 'the marker');
    expect(h.deliveredTo('hooks').filter((d) => d.messageId === m)).toHaveLength(1);
    expect(h.processed.filter((e) => e.messageId === m)).toHaveLength(1);
  });

  it('never routes a suppressed user anywhere', async () => {
    const m = id('supp');
    await h.send([{ messageId: m, anonymousId: 'anon-s', userId: 'suppressed-user', event: 'Secret' }]);
    const marker = id('marker');
    await h.send([{ messageId: marker, anonymousId: 'anon-s', event: 'Marker' }]);
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === marker), 'the marker');
    expect(h.deliveries.some((d) => d.messageId === m)).toBe(false);
    expect(h.processed.some((e) => e.messageId === m)).toBe(false);
  });

  it('keeps an event whose consent denies a category away from that destination only', async () => {
    const denied = id('denied');
    const granted = id('granted');
    await h.send([
      {
        messageId: denied,
        anonymousId: 'anon-c',
        event: 'Consent',
        context: { consentManagement: { provider: 'custom', deniedConsentIds: ['analytics'] } },
      },
      {
        messageId: granted,
        anonymousId: 'anon-c',
        event: 'Consent',
        context: { consent: { categoryPreferences: { analytics: true } } },
      },
    ]);
    await waitFor(() => h.deliveredTo('amp').some((d) => d.messageId === granted), 'the granted event at amp');
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === denied), 'the denied event at hooks');
    expect(h.deliveredTo('amp').some((d) => d.messageId === denied)).toBe(false);
  });

  it('honours the integrations object', async () => {
    const m = id('integ');
    await h.send([
      { messageId: m, anonymousId: 'anon-i', event: 'Only hooks', integrations: { All: false, Webhook: true } },
    ]);
    const m2 = id('integ-amp-off');
    await h.send([{ messageId: m2, anonymousId: 'anon-i', event: 'No amp', integrations: { Amplitude: false } }]);
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === m2), 'the second event at hooks');
    await waitFor(() => h.deliveredTo('xf').some((d) => d.messageId === m2), 'the second event at xf');
    expect(h.deliveredTo('hooks').some((d) => d.messageId === m)).toBe(true);
    expect(h.deliveredTo('xf').some((d) => d.messageId === m)).toBe(true);
    expect(h.deliveredTo('amp').some((d) => d.messageId === m)).toBe(false);
    expect(h.deliveredTo('amp').some((d) => d.messageId === m2)).toBe(false);
  });

  it('applies a tracking plan: forwards with violations recorded, or drops', async () => {
    const fwd = id('plan-fwd');
    await h.send(
      [{ messageId: fwd, anonymousId: 'anon-p', event: 'Order Completed', properties: { total: 'ten' } }],
      'planned',
    );
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === fwd), 'the forwarded event');
    const ctx = h.deliveredTo('hooks').find((d) => d.messageId === fwd)!.event.context as Record<string, unknown>;
    expect(ctx.trackingPlanId).toBe('forwarding-plan');
    expect(ctx.trackingPlanVersion).toBe(3);
    expect(JSON.stringify(ctx.violationErrors)).toMatch(/total/);

    const bad = id('plan-drop');
    const unplanned = id('plan-unplanned');
    const good = id('plan-good');
    await h.send(
      [
        { messageId: bad, anonymousId: 'anon-q', event: 'Order Completed', properties: { total: 'ten' } },
        { messageId: unplanned, anonymousId: 'anon-q', event: 'Not In Plan' },
        { messageId: good, anonymousId: 'anon-q', event: 'Order Completed', properties: { total: 10 } },
      ],
      'strict',
    );
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === good), 'the valid event');
    expect(h.deliveries.some((d) => d.messageId === bad || d.messageId === unplanned)).toBe(false);
  });

  it('runs the connection transformation: change (with a library), split, drop', async () => {
    const change = id('xf-change');
    const split = id('xf-split');
    const drop = id('xf-drop');
    const marker = id('xf-marker');
    await h.send([
      { messageId: change, anonymousId: 'anon-x', event: 'change' },
      { messageId: split, anonymousId: 'anon-x', event: 'split' },
      { messageId: drop, anonymousId: 'anon-x', event: 'drop' },
      { messageId: marker, anonymousId: 'anon-x', event: 'untouched' },
    ]);
    await waitFor(() => h.deliveredTo('xf').some((d) => d.messageId === marker), 'the marker at xf');
    const xf = h.deliveredTo('xf');
    expect(xf.find((d) => d.messageId === change)!.event.properties).toEqual({ changed: 'tag:xf' });
    expect(xf.filter((d) => d.event.messageId === `${split}-1` || d.event.messageId === `${split}-2`)).toHaveLength(2);
    expect(xf.some((d) => d.messageId === drop)).toBe(false);
    // Other destinations get the event untransformed.
    expect(h.deliveredTo('hooks').find((d) => d.messageId === change)!.event.properties).toBeUndefined();
  });

  it.each(['throw', 'loop', 'alloc', 'fs', 'process', 'fetch'])(
    'sends an event whose transformation fails (%s) to the dead-letter topic and keeps going',
    async (kind) => {
      const bad = id(`xf-${kind}`);
      await h.send([{ messageId: bad, anonymousId: `anon-${kind}`, event: kind }]);
      await waitFor(() => h.deadLetters.some((d) => d.messageId === bad), `the dead letter for ${kind}`);
      const dl = h.deadLetters.find((d) => d.messageId === bad)!;
      expect(dl.stage).toBe('transformation');
      expect(dl.destinationId).toBe('xf');
      expect(dl.errorMessage).toMatch(/transformation xf for destination xf/);
      // The service goes on, and other destinations still got the event.
      const after = id(`after-${kind}`);
      await h.send([{ messageId: after, anonymousId: `anon-${kind}`, event: 'fine' }]);
      await waitFor(() => h.deliveredTo('xf').some((d) => d.messageId === after), 'the next event');
      expect(h.deliveredTo('hooks').some((d) => d.messageId === bad)).toBe(true);
    },
  );

  it('yields identity edges from identify and alias', async () => {
    const ident = id('ident');
    const alias = id('alias');
    await h.send([
      { type: 'identify', messageId: ident, anonymousId: 'anon-id', userId: 'user-id', traits: { plan: 'pro' } },
      { type: 'alias', messageId: alias, previousId: 'old-user', userId: 'user-id' },
    ]);
    await waitFor(
      () => h.edges.filter((e) => e.messageId === ident || e.messageId === alias).length === 2,
      'two edges',
    );
    expect(h.edges.find((e) => e.messageId === ident)).toMatchObject({
      leftType: 'anonymous_id',
      leftValue: 'anon-id',
      rightType: 'user_id',
      rightValue: 'user-id',
      sourceId: 'web',
    });
  });

  it('keeps dedupe state across a restart and a rebalance to a second instance', async () => {
    const m = id('restart');
    await h.send([{ messageId: m, anonymousId: 'anon-r', event: 'Before restart' }]);
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === m), 'the first copy');
    await processor.stop();
    processor = await start(prefix, file, 'one');
    await h.send([{ messageId: m, anonymousId: 'anon-r', event: 'Before restart' }]);

    // A second instance joins, then the first leaves: the second owns every partition.
    const second = await start(prefix, file, 'two');
    await processor.stop();
    processor = second;
    await h.send([{ messageId: m, anonymousId: 'anon-r', event: 'Before restart' }]);
    const marker = id('marker');
    await h.send([{ messageId: marker, anonymousId: 'anon-r', event: 'Marker' }]);
    await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === marker), 'the marker', 90000);
    await settle();
    expect(h.deliveredTo('hooks').filter((d) => d.messageId === m)).toHaveLength(1);
  });
});

describe('processor dedupe window', () => {
  it('lets a messageId through again once the window has passed', async () => {
    const prefix = uniquePrefix('window');
    const file = writeWorkspace(workspace);
    const h = new Harness(prefix, ['hooks']);
    await h.start();
    const config = loadProcessorConfig({
      KAFKA_BROKERS: brokers,
      SCHEMA_REGISTRY_URL: registryUrl,
      SLUICE_TOPIC_PREFIX: prefix,
      WORKSPACE_FILE: file,
      METRICS_PORT: '0',
      PROCESSOR_INSTANCE_ID: 'window',
      DEDUPE_WINDOW_MS: '3000',
      LOG_LEVEL: 'warn',
    });
    const processor = await startProcessor(config, log, (store) => sandboxRunner(store, config, log));
    try {
      await h.send([{ messageId: 'w-1', anonymousId: 'anon-w', event: 'Windowed' }]);
      await h.send([{ messageId: 'w-1', anonymousId: 'anon-w', event: 'Windowed' }]);
      await h.send([{ messageId: 'w-marker-1', anonymousId: 'anon-w', event: 'Marker' }]);
      await waitFor(() => h.deliveredTo('hooks').some((d) => d.messageId === 'w-marker-1'), 'the first marker');
      expect(h.deliveredTo('hooks').filter((d) => d.messageId === 'w-1')).toHaveLength(1);
      // Expiries are kept in whole seconds, rounded up: an id is remembered for the window plus up to 1 s.
      await new Promise((r) => setTimeout(r, 4500));
      await h.send([{ messageId: 'w-1', anonymousId: 'anon-w', event: 'Windowed' }]);
      await waitFor(() => h.deliveredTo('hooks').filter((d) => d.messageId === 'w-1').length === 2, 'the second copy');
    } finally {
      await processor.stop();
      await h.stop();
    }
  });
});
