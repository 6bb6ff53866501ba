import { dbAddColumns, dbColumnType, dbColumnTypesQuery, dbCopyInto, dbCreateTable, dbMerge } from '../src';

const target = { catalog: 'main', schema: 'sluice' };

describe('Databricks SQL', () => {
  test('CREATE TABLE … USING DELTA and ALTER TABLE ADD COLUMNS', () => {
    expect(dbCreateTable(target, 'tracks', { id: 'string', n: 'int', x: 'float', b: 'boolean', t: 'timestamp' })).toBe(
      'CREATE TABLE IF NOT EXISTS `main`.`sluice`.`tracks` (`id` STRING, `n` BIGINT, `x` DOUBLE, `b` BOOLEAN, `t` TIMESTAMP) USING DELTA',
    );
    expect(dbAddColumns(target, 'tracks', ['id'], { id: 'string', coupon: 'string', qty: 'int' })).toBe(
      'ALTER TABLE `main`.`sluice`.`tracks` ADD COLUMNS (`coupon` STRING, `qty` BIGINT)',
    );
    expect(dbAddColumns(target, 'tracks', ['ID'], { id: 'string' })).toBeUndefined();
  });

  test('COPY INTO from Parquet with schema merge', () => {
    expect(dbCopyInto(target, 'tracks', 's3://b/lake/parquet/tracks/received_date=2026-11-22/')).toBe(
      "COPY INTO `main`.`sluice`.`tracks` FROM 's3://b/lake/parquet/tracks/received_date=2026-11-22/' FILEFORMAT = PARQUET FORMAT_OPTIONS ('mergeSchema' = 'true') COPY_OPTIONS ('mergeSchema' = 'true')",
    );
  });

  test('MERGE of users from a Parquet file, newest row per id', () => {
    const sql = dbMerge(target, 'users', 's3://b/u.parquet', 'id', 'received_at', ['id', 'received_at', 'plan']);
    expect(sql).toContain('FROM parquet.`s3://b/u.parquet`');
    expect(sql).toContain('ROW_NUMBER() OVER (PARTITION BY `id` ORDER BY `received_at` DESC)');
    expect(sql).toContain(
      'UPDATE SET t.`received_at` = COALESCE(s.`received_at`, t.`received_at`), t.`plan` = COALESCE(s.`plan`, t.`plan`)',
    );
    expect(sql).toContain(
      'WHEN NOT MATCHED THEN INSERT (`id`, `received_at`, `plan`) VALUES (s.`id`, s.`received_at`, s.`plan`)',
    );
  });
});

test('Databricks column types read back as Sluice types, from information_schema', () => {
  expect(['BIGINT', 'DOUBLE', 'BOOLEAN', 'TIMESTAMP', 'STRING', 'DECIMAL(10,2)', 'INT'].map(dbColumnType)).toEqual([
    'int',
    'float',
    'boolean',
    'timestamp',
    'string',
    'float',
    'int',
  ]);
  expect(dbColumnTypesQuery(target, 'Order_Completed')).toBe(
    "SELECT column_name, data_type FROM `main`.information_schema.columns WHERE table_schema = 'sluice' AND table_name = 'order_completed' ORDER BY ordinal_position",
  );
});
