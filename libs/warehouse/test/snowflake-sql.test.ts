import {
  sfAddColumns,
  sfColumnType,
  sfCopyInto,
  sfCreateTable,
  sfIdent,
  sfLoadedCheck,
  sfLoadPlan,
  sfMerge,
  sfPut,
  sfString,
} from '../src';

const target = { database: 'analytics', schema: 'sluice' };

describe('Snowflake SQL', () => {
  test('identifiers are quoted upper-case; strings escape quotes and backslashes', () => {
    expect(sfIdent('order_completed')).toBe('"ORDER_COMPLETED"');
    expect(sfIdent('we"ird')).toBe('"WE""IRD"');
    expect(sfString("it's a \\ test")).toBe("'it''s a \\\\ test'");
  });

  test('CREATE TABLE IF NOT EXISTS with Snowflake types', () => {
    expect(
      sfCreateTable(target, 'tracks', {
        id: 'string',
        amount: 'int',
        price: 'float',
        ok: 'boolean',
        received_at: 'timestamp',
      }),
    ).toBe(
      'CREATE TABLE IF NOT EXISTS "ANALYTICS"."SLUICE"."TRACKS" ("ID" VARCHAR, "AMOUNT" NUMBER(38,0), "PRICE" FLOAT, "OK" BOOLEAN, "RECEIVED_AT" TIMESTAMP_TZ)',
    );
  });

  test('ALTER TABLE ADD COLUMN only for the columns the table lacks (case-insensitive)', () => {
    expect(sfAddColumns(target, 'tracks', ['ID', 'AMOUNT'], { id: 'string', amount: 'int', coupon: 'string' })).toEqual(
      ['ALTER TABLE "ANALYTICS"."SLUICE"."TRACKS" ADD COLUMN "COUPON" VARCHAR'],
    );
    expect(sfAddColumns(target, 'tracks', ['ID'], { id: 'string' })).toEqual([]);
  });

  test('PUT to the internal stage and COPY INTO by column name', () => {
    expect(sfPut(target, 'sluice_stage', '/tmp/a.parquet', 'tracks/p0-5')).toBe(
      `PUT 'file:///tmp/a.parquet' @"ANALYTICS"."SLUICE"."SLUICE_STAGE"/tracks/p0-5 AUTO_COMPRESS = FALSE OVERWRITE = TRUE`,
    );
    expect(sfCopyInto(target, 'tracks', 'sluice_stage', 'tracks/p0-5')).toBe(
      'COPY INTO "ANALYTICS"."SLUICE"."TRACKS" FROM @"ANALYTICS"."SLUICE"."SLUICE_STAGE"/tracks/p0-5 FILE_FORMAT = (TYPE = PARQUET) MATCH_BY_COLUMN_NAME = CASE_INSENSITIVE',
    );
  });

  test('MERGE keeps the newest row per key, field by field', () => {
    const sql = sfMerge(target, 'users', 'users_stg', {
      key: 'id',
      orderBy: 'received_at',
      columns: ['id', 'received_at', 'plan'],
    });
    expect(sql).toContain('QUALIFY ROW_NUMBER() OVER (PARTITION BY "ID" ORDER BY "RECEIVED_AT" DESC) = 1');
    expect(sql).toContain(
      'WHEN MATCHED AND (t."RECEIVED_AT" IS NULL OR s."RECEIVED_AT" >= t."RECEIVED_AT") THEN UPDATE SET "RECEIVED_AT" = COALESCE(s."RECEIVED_AT", t."RECEIVED_AT"), "PLAN" = COALESCE(s."PLAN", t."PLAN")',
    );
    expect(sql).toContain(
      'WHEN NOT MATCHED THEN INSERT ("ID", "RECEIVED_AT", "PLAN") VALUES (s."ID", s."RECEIVED_AT", s."PLAN")',
    );
  });

  test('load history: the check finds a batch at or after the version', () => {
    expect(sfLoadedCheck(target, 'tracks', 'g:t:0', 41)).toBe(
      `SELECT MAX("VERSION") AS "VERSION" FROM "ANALYTICS"."SLUICE"."_SLUICE_LOAD_HISTORY" WHERE "APP_ID" = 'g:t:0' AND "TABLE_NAME" = 'tracks' HAVING MAX("VERSION") >= 41`,
    );
  });

  test('a load plan: DDL first, then COPY and the history row in one transaction', () => {
    const plan = sfLoadPlan(target, {
      table: 'tracks',
      schema: { id: 'string', coupon: 'string' },
      existingColumns: ['ID'],
      appId: 'g:t:0',
      version: 9,
      rows: 3,
      stage: 'st',
      folder: 'tracks/g_t_0-9',
    });
    expect(plan.setup[2]).toBe('ALTER TABLE "ANALYTICS"."SLUICE"."TRACKS" ADD COLUMN "COUPON" VARCHAR');
    expect(plan.transaction[0]).toBe('BEGIN');
    expect(plan.transaction[1]).toMatch(/^COPY INTO "ANALYTICS"."SLUICE"."TRACKS"/);
    expect(plan.transaction[2]).toMatch(/^INSERT INTO "ANALYTICS"."SLUICE"."_SLUICE_LOAD_HISTORY"/);
    expect(plan.transaction[3]).toBe('COMMIT');
    expect(plan.cleanup).toEqual([]);
    const users = sfLoadPlan(target, {
      table: 'users',
      schema: { id: 'string', received_at: 'timestamp' },
      existingColumns: [],
      appId: 'g:t:0',
      version: 9,
      rows: 3,
      stage: 'st',
      folder: 'users/x',
      merge: { key: 'id', orderBy: 'received_at' },
    });
    expect(users.setup.at(-1)).toMatch(/^CREATE OR REPLACE TABLE "ANALYTICS"."SLUICE"."USERS__STG_G_T_0_9" LIKE/);
    expect(users.prepare[0]).toMatch(/^COPY INTO "ANALYTICS"."SLUICE"."USERS__STG_G_T_0_9"/);
    expect(users.transaction[0]).toMatch(/^MERGE INTO "ANALYTICS"."SLUICE"."USERS"/);
    expect(users.transaction[1]).toMatch(/^INSERT INTO "ANALYTICS"."SLUICE"."_SLUICE_LOAD_HISTORY"/);
    expect(users.cleanup).toEqual(['DROP TABLE IF EXISTS "ANALYTICS"."SLUICE"."USERS__STG_G_T_0_9"']);
  });
});

test('Snowflake column types read back as the Sluice types they were created from', () => {
  // INFORMATION_SCHEMA reports NUMBER for the NUMBER(38,0) Sluice creates for ints, TEXT for VARCHAR.
  expect(['NUMBER', 'FLOAT', 'BOOLEAN', 'TIMESTAMP_TZ', 'TEXT'].map(sfColumnType)).toEqual([
    'int',
    'float',
    'boolean',
    'timestamp',
    'string',
  ]);
  expect(['NUMBER(38,0)', 'TIMESTAMP_NTZ', 'VARCHAR(16777216)', 'VARIANT', 'DATE'].map(sfColumnType)).toEqual([
    'int',
    'timestamp',
    'string',
    'string',
    'timestamp',
  ]);
});
