// A local webhook endpoint for the router benchmark, run as its own process so it
// does not share the router's event loop. Modes: "ok" answers 200 at once, "stall"
// never answers. GET /count answers how many events were accepted.
import http from 'node:http';

const mode = process.argv[2] ?? 'ok';
let events = 0;
let requests = 0;
const server = http.createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ events, requests }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    if (mode === 'stall') return;
    const body = Buffer.concat(chunks);
    // Count without a full parse: one event per object, or the array's length.
    events += body[0] === 0x5b ? (JSON.parse(body.toString('utf8')) as unknown[]).length : 1;
    requests++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as { port: number };
  process.stdout.write(`${addr.port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
