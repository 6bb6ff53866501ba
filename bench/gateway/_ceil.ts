import { createKafka, createDurableProducer } from '@sluice/kafka';
import pino from 'pino';
async function main() {
  const kafka = createKafka({ brokers: ['127.0.0.1:9292'], clientId: 'lat', topicPrefix: '', ssl: false }, pino({ level: 'error' }));
  const admin = kafka.admin(); await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'ceil-test', numPartitions: 12 }] }).catch(() => undefined);
  const n = Number(process.env.N ?? 1000);
  const msgs = Array.from({ length: n }, (_, i) => ({ key: `a:anon-${i}`, value: Buffer.alloc(850, 1) }));
  for (const [idem, conc] of [[true, 1], [false, 1], [false, 3]] as const) {
    const p = idem ? createDurableProducer(kafka) : kafka.producer({ allowAutoTopicCreation: false, maxInFlightRequests: 5 });
    await p.connect();
    let sent = 0; const t0 = Date.now(); const c0 = process.cpuUsage();
    await Promise.all(Array.from({ length: conc }, async () => { while (Date.now() - t0 < 6000) { await p.send({ topic: 'ceil-test', acks: -1, messages: msgs }); sent += n; } }));
    const cpu = process.cpuUsage(c0);
    console.log(`idem=${idem} conc=${conc} n=${n}`, 'rec/s', Math.round(sent / ((Date.now() - t0) / 1000)), 'cpu', ((cpu.user + cpu.system) / 1e6 / ((Date.now() - t0) / 1000)).toFixed(2));
    await p.disconnect();
  }
  await admin.deleteTopics({ topics: ['ceil-test'] }); await admin.disconnect();
}
main();
