import type { SqlConnection, SqlRow } from './snowflake-sink';

export interface DatabricksConnectionSettings {
  /** Workspace host name, e.g. `dbc-123.cloud.databricks.com`. */
  host: string;
  /** HTTP path of the SQL warehouse, e.g. `/sql/1.0/warehouses/abc`. */
  path: string;
  token: string;
}

/** One @databricks/sql session behind the sinks' SqlConnection; its PUTs may read files under `stagingDir`. */
export async function connectDatabricks(s: DatabricksConnectionSettings, stagingDir: string): Promise<SqlConnection> {
  // Loaded only when Databricks is configured: the driver pulls in thrift and an
  // ESM-only uuid, which CommonJS test runners cannot load.
  const { DBSQLClient } = await import('@databricks/sql');
  const client = new DBSQLClient();
  await client.connect({ host: s.host, path: s.path, token: s.token });
  const session = await client.openSession();
  return {
    execute: async (sql) => {
      const op = await session.executeStatement(sql, { stagingAllowedLocalPath: stagingDir });
      try {
        return (await op.fetchAll()) as SqlRow[];
      } finally {
        await op.close();
      }
    },
    close: async () => {
      await session.close().catch(() => undefined);
      await client.close();
    },
  };
}
