import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

/** Python with fakesnow[server] (deploy/local/requirements-snowflake.txt). */
export const SNOWFLAKE_PYTHON = process.env.SLUICE_SNOWFLAKE_PYTHON ?? process.env.SLUICE_PYTHON ?? 'python3';

/**
 * fakesnow's HTTP server behind the test-side JSON-results adapter
 * (support/fakesnow_node_server.py, decision 0703), on a free port.
 */
export class FakesnowServer {
  private child: ChildProcess | undefined;
  private readonly output: string[] = [];
  port = 0;

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(timeoutMs = 60000): Promise<void> {
    const child = spawn(SNOWFLAKE_PYTHON, [path.join(__dirname, 'fakesnow_node_server.py'), '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`fakesnow server not ready in ${timeoutMs} ms:\n${this.output.join('')}`)),
        timeoutMs,
      );
      const onData = (chunk: Buffer) => {
        this.output.push(chunk.toString());
        const m = /ready (\d+)/.exec(this.output.join(''));
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (c: Buffer) => this.output.push(c.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`fakesnow server exited (${code}):\n${this.output.join('')}`));
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}
