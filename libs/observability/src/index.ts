import http from 'node:http';
import { AddressInfo } from 'node:net';
import pino, { Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';

export type { Logger };

export function createLogger(service: string, level: string): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    // Credentials must never reach the logs, whatever object a caller passes.
    redact: {
      paths: ['password', '*.password', 'writeKey', '*.writeKey', 'authorization', '*.authorization', 'sasl'],
      censor: '[redacted]',
    },
  });
}

export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export type HealthCheck = () => Promise<boolean> | boolean;

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * `/metrics` (Prometheus text), `/health/live` (the process answers) and
 * `/health/ready` (the checks pass: the service can take work).
 */
export async function startOpsServer(
  port: number,
  registry: Registry,
  ready: HealthCheck,
  host = '127.0.0.1',
): Promise<OpsServer> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = req.url ?? '/';
      if (url === '/metrics') {
        // Collected before the head is written: a failed collection (a cluster worker that does
        // not answer) is a 500, not a second head on a started response.
        const body = await registry.metrics();
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      } else if (url === '/health/live') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"live"}');
      } else if (url === '/health' || url === '/health/ready') {
        let ok = false;
        try {
          ok = await ready();
        } catch {
          ok = false;
        }
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ready' : 'not ready' }));
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":"not found"}');
      }
    })().catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: (err as Error).message }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A stage of a service's lifecycle: started in order, stopped in reverse. */
export interface LifecycleStep {
  name: string;
  stop(): Promise<void>;
}

/**
 * Holds what a service started so SIGTERM/SIGINT stop it in reverse order:
 * stop taking work, finish in-flight work, flush, commit, disconnect.
 */
export class Lifecycle {
  private readonly steps: LifecycleStep[] = [];
  private stopping: Promise<void> | undefined;
  private exiting = false;

  constructor(private readonly log: Logger) {}

  add(name: string, stop: () => Promise<void>): void {
    this.steps.push({ name, stop });
  }

  stop(): Promise<void> {
    if (!this.stopping) {
      this.stopping = (async () => {
        for (const step of [...this.steps].reverse()) {
          try {
            await step.stop();
            this.log.info({ step: step.name }, 'stopped');
          } catch (err) {
            this.log.error({ step: step.name, err }, 'failed to stop cleanly');
          }
        }
      })();
    }
    return this.stopping;
  }

  /**
   * For a service that can no longer do its work (another instance fenced it): stops everything
   * in reverse, then exits with status 1, so its consumer groups hand the partitions over. A stop
   * that hangs is cut short after `graceMs`. Only the first call acts.
   */
  fatal(
    message: string,
    fields: Record<string, unknown> = {},
    graceMs = 10_000,
    exit: (code: number) => void = (code) => process.exit(code),
  ): void {
    if (this.exiting) return;
    this.exiting = true;
    this.log.fatal(fields, message);
    setTimeout(() => exit(1), graceMs).unref();
    void this.stop().finally(() => exit(1));
  }

  onSignals(exit: (code: number) => void = (code) => process.exit(code)): void {
    const handler = (signal: NodeJS.Signals) => {
      this.log.info({ signal }, 'shutting down');
      void this.stop().then(() => exit(0));
    };
    process.once('SIGTERM', handler);
    process.once('SIGINT', handler);
  }
}
export * from './tally';
export * from './cluster';
