import snowflake from 'snowflake-sdk';
import type { SinkLog } from './sink';
import type { SqlConnection, SqlRow } from './snowflake-sink';

export interface SnowflakeConnectionSettings {
  account: string;
  username: string;
  password: string;
  database: string;
  schema: string;
  warehouse?: string;
  role?: string;
  /** Full URL of the account (private link, or a local stand-in); default from the account. */
  accessUrl?: string;
}

let configured = false;

/**
 * One snowflake-sdk session behind the sinks' small SqlConnection interface.
 * The driver's own log (a `snowflake.log` file in the working folder by
 * default) goes to `log` instead, warnings and errors only.
 */
export async function connectSnowflake(s: SnowflakeConnectionSettings, log?: SinkLog): Promise<SqlConnection> {
  if (!configured) {
    const warn = (message: string) => log?.warn({ driver: 'snowflake-sdk' }, message);
    const drop = () => undefined;
    snowflake.configure({
      logLevel: 'WARN',
      customLogger: { error: warn, warn, info: drop, debug: drop, trace: drop },
    });
    configured = true;
  }
  const conn = snowflake.createConnection({
    account: s.account,
    username: s.username,
    password: s.password,
    database: s.database,
    schema: s.schema,
    warehouse: s.warehouse,
    role: s.role,
    accessUrl: s.accessUrl,
    application: 'Sluice',
  });
  await new Promise<void>((resolve, reject) => conn.connect((err) => (err ? reject(err) : resolve())));
  return {
    execute: (sql) =>
      new Promise<SqlRow[]>((resolve, reject) => {
        conn.execute({
          sqlText: sql,
          complete: (err, _stmt, rows) => (err ? reject(err) : resolve((rows ?? []) as SqlRow[])),
        });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        conn.destroy(() => resolve());
      }),
  };
}
