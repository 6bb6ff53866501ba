import autocannon from 'autocannon';
import pino from 'pino';
import { startGateway } from '../../services/gateway/src/gateway';
import { loadGatewayConfig } from '../../services/gateway/src/config';
import { StaticSourceResolver } from '../../services/gateway/src/sources';
async function main() {
  const cfg = loadGatewayConfig({ PORT: '0', HOST: '127.0.0.1', WORKSPACE_FILE: 'x', KAFKA_BROKERS: '127.0.0.1:9292', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:9294', SLUICE_TOPIC_PREFIX: 'probe-' + Date.now() + '.', LINGER_MS: process.env.LINGER_MS });
  const gw = await startGateway(cfg, pino({ level: 'warn' }), { sources: new StaticSourceResolver([{ id: 's', name: 's', writeKey: 'k', enabled: true }]) });
  const n = Number(process.env.N ?? 1);
  const body = JSON.stringify({ batch: Array.from({ length: n }, (_, i) => ({ type: 'track', userId: 'u' + i, event: 'E', messageId: 'm' + i, properties: { a: 'x'.repeat(700) } })) });
  const t0 = process.cpuUsage();
  const res = await autocannon({ url: gw.url + '/v1/batch', method: 'POST', connections: Number(process.env.C ?? 32), duration: 8, headers: { 'content-type': 'application/json', authorization: 'Basic ' + Buffer.from('k:').toString('base64') }, body });
  const cpu = process.cpuUsage(t0);
  console.log('req/s', res.requests.average, 'events/s', res.requests.average * n, 'p50', res.latency.p50, 'p99', res.latency.p99, 'non2xx', res.non2xx, 'cpu s', (cpu.user + cpu.system) / 1e6);
  const m = await gw.registry.getSingleMetricAsString('sluice_gateway_produce_batch_records');
  const l = await gw.registry.getSingleMetricAsString('sluice_gateway_produce_latency_seconds');
  console.log(m.split('\n').filter(x => /_sum|_count/.test(x)).join('\n'));
  console.log(l.split('\n').filter(x => /_sum|_count/.test(x)).join('\n'));
  await gw.close();
}
main();
