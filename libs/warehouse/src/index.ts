export * from './snowflake';
export * from './databricks';
