export * from './snowflake';
export * from './databricks';
export * from './sink';
export * from './snowflake-sink';
export * from './snowflake-connection';
export * from './databricks-sink';
export * from './databricks-connection';
