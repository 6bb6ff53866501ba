import { eventTableName, joinName, toSafeName } from '../src';

describe('toSafeName', () => {
  it.each([
    ['productId', 'product_id'],
    ['Order Completed', 'order_completed'],
    ['HTTPStatus', 'http_status'],
    ['user.email-address', 'user_email_address'],
    ['  spaced  out  ', 'spaced_out'],
    ['$price', 'price'],
    ['1st_place', '_1st_place'],
    ['42', '_42'],
    ['from', '_from'],
    ['Select', '_select'],
    ['$$$', '_'],
    ['déjà vu', 'd_j_vu'],
    ['already_snake', 'already_snake'],
  ])('%j → %j', (raw, safe) => {
    expect(toSafeName(raw)).toBe(safe);
  });

  it('caps names at 127 characters by default and at a given length', () => {
    const long = 'a'.repeat(300);
    expect(toSafeName(long)).toHaveLength(127);
    expect(toSafeName(long, { maxLength: 63 })).toHaveLength(63);
  });

  it('joins parts with _ within the cap', () => {
    expect(joinName('context', 'page_path')).toBe('context_page_path');
    expect(joinName('', 'x')).toBe('x');
    expect(joinName('a'.repeat(100), 'b'.repeat(100))).toHaveLength(127);
  });
});

describe('eventTableName', () => {
  it('snake-cases track event names', () => {
    expect(eventTableName('Order Completed')).toBe('order_completed');
    expect(eventTableName('checkout.step-2 viewed')).toBe('checkout_step_2_viewed');
  });
  it('prefixes names of Sluice tables and reserved words', () => {
    expect(eventTableName('Users')).toBe('_users');
    expect(eventTableName('tracks')).toBe('_tracks');
    expect(eventTableName('discards')).toBe('_discards');
    expect(eventTableName('order')).toBe('_order');
    expect(eventTableName('2fa enabled')).toBe('_2fa_enabled');
  });
  it('has no table for empty names', () => {
    expect(eventTableName('')).toBeUndefined();
    expect(eventTableName('   ')).toBeUndefined();
    expect(eventTableName('!!!')).toBeUndefined();
    expect(eventTableName(undefined)).toBeUndefined();
  });
});
