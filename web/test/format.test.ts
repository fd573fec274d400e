import { describe, expect, it } from 'vitest';
import { dec } from '../src/lib/decimal';
import {
  clock,
  dateTime,
  direction,
  fixed,
  groupPlain,
  krw,
  krwSigned,
  characters,
  marketTime,
  parseUserDecimal,
  pct,
  price,
  priceBare,
  qty,
  shortDateTime,
  trimmed,
  until,
} from '../src/lib/format';
import { toPlain } from '../src/lib/decimal';

describe('KRW amounts', () => {
  it('use thousands separators and no spurious decimals', () => {
    expect(krw('10000000.00000000', 'ko')).toBe('10,000,000원');
    expect(krw('10000000', 'en')).toBe('₩10,000,000');
    expect(krw('0', 'ko')).toBe('0원');
    expect(krw('999', 'ko')).toBe('999원');
  });
  it('round to the won, half away from zero', () => {
    expect(krw('9899500.5', 'ko')).toBe('9,899,501원');
    expect(krw('9899500.49999999', 'ko')).toBe('9,899,500원');
    expect(krw('-1234.5', 'en')).toBe('-₩1,235');
    expect(krw(dec('1500.4'), 'ko')).toBe('1,500원');
  });
  it('sign P&L', () => {
    expect(krwSigned('12345', 'ko')).toBe('+12,345원');
    expect(krwSigned('-500', 'ko')).toBe('-500원');
    expect(krwSigned('0.2', 'ko')).toBe('0원');
    expect(krwSigned(null, 'ko')).toBe('—');
  });
  it('show a dash for missing values', () => {
    expect(krw(null, 'ko')).toBe('—');
    expect(krw('garbage', 'ko')).toBe('—');
  });
});

describe('prices', () => {
  it('KRW prices keep their real decimals, trimmed', () => {
    expect(price('71000.00000000', 'KRW', 'ko')).toBe('71,000원');
    expect(price('150000000.00000000', 'KRW-COIN', 'ko')).toBe('150,000,000원');
    expect(price('281.50000000', 'KRW-COIN', 'ko')).toBe('281.5원');
    expect(price('0.00012345', 'KRW-COIN', 'en')).toBe('₩0.00012345');
    expect(price('3.14159265', 'KRW-COIN', 'ko')).toBe('3.1416원');
  });
  it('KRW prices drop decimals that mean nothing at their size', () => {
    expect(price('149956363.63636364', 'KRW-COIN', 'ko')).toBe('149,956,364원');
    expect(price('1450.5', 'KRW-COIN', 'ko')).toBe('1,451원');
    expect(price('281.555', 'KRW-COIN', 'ko')).toBe('281.56원');
  });
  it('USD prices always have 2 decimals', () => {
    expect(price('230', 'USD', 'ko')).toBe('$230.00');
    expect(price('230.175', 'USD', 'en')).toBe('$230.18');
    expect(price('1234.5', 'USD', 'en')).toBe('$1,234.50');
    expect(price('-3.1', 'USD', 'en')).toBe('-$3.10');
    expect(priceBare('0.5', 'USD')).toBe('0.50');
    expect(priceBare('71000.00000000', 'KRW')).toBe('71,000');
  });
});

describe('quantities and percentages', () => {
  it('quantities have up to 8 decimals, zeros trimmed', () => {
    expect(qty('0.00100000')).toBe('0.001');
    expect(qty('0.12345678')).toBe('0.12345678');
    expect(qty('10.00000000')).toBe('10');
    expect(qty('12345.5')).toBe('12,345.5');
  });
  it('percentages carry a sign and 2 decimals', () => {
    expect(pct('-1.25')).toBe('-1.25%');
    expect(pct('3.456')).toBe('+3.46%');
    expect(pct('0')).toBe('0.00%');
    expect(pct(null)).toBe('—');
    expect(direction('-0.01')).toBe(-1);
    expect(direction('0')).toBe(0);
    expect(direction('5')).toBe(1);
  });
  it('groups plain decimals', () => {
    expect(groupPlain('-1234567.891')).toBe('-1,234,567.891');
    expect(groupPlain('123')).toBe('123');
    expect(fixed('1452.3', 2)).toBe('1,452.30');
    expect(trimmed('1.10000000')).toBe('1.1');
  });
});

describe('times', () => {
  const iso = '2025-11-26T06:04:05Z';
  it('are shown in the given (browser) time zone, from UTC', () => {
    expect(dateTime(iso, 'ko', 'Asia/Seoul')).toContain('15:04:05');
    expect(dateTime(iso, 'en', 'America/New_York')).toContain('01:04:05');
    expect(shortDateTime(iso, 'en', 'Asia/Seoul')).toBe('11/26/2025, 15:04');
    expect(shortDateTime(iso, 'ko', 'Asia/Seoul')).toMatch(/^2025\. 11\. 26\. 15:04$/);
    expect(clock(new Date(iso), 'ko', 'UTC')).toBe('06:04:05');
    expect(marketTime('2025-11-27T00:00:00Z', 'ko', 'KRX')).toMatch(/11월 27일.*09:00 KST$/);
    expect(dateTime(null, 'ko')).toBe('—');
    expect(dateTime('not a time', 'ko')).toBe('—');
  });
  it("labels market times with the market's own zone, wherever the reader is", () => {
    // 14:30 UTC is 09:30 in New York (EST) and 23:30 in Seoul.
    expect(marketTime('2025-11-26T14:30:00Z', 'en', 'US')).toMatch(/09:30 ET$/);
    expect(marketTime('2025-11-26T14:30:00Z', 'ko', 'US')).toMatch(/09:30 ET$/);
    expect(marketTime('2025-11-26T14:30:00Z', 'ko', 'KRX')).toMatch(/23:30 KST$/);
  });
  it('counts down to an open or close', () => {
    const now = new Date('2025-11-26T06:00:00Z');
    expect(until('2025-11-26T08:05:00Z', now, 'en')).toBe('2h 5m');
    expect(until('2025-11-28T09:00:00Z', now, 'ko')).toBe('2일 3시간');
    expect(until('2025-11-26T06:00:20Z', now, 'en')).toBe('1m');
    expect(until('2025-11-26T05:00:00Z', now, 'en')).toBeNull();
  });
});

describe('nickname length', () => {
  it('counts characters as the server does (code points), not UTF-16 units', () => {
    const emoji = '😀'.repeat(32); // 64 UTF-16 units, 32 characters
    expect(emoji.length).toBe(64);
    expect(characters(emoji)).toBe(32);
    expect(characters('민지')).toBe(2);
  });
});

describe('user input', () => {
  it('accepts plain decimals up to 8 places', () => {
    expect(toPlain(parseUserDecimal('0.001')!)).toBe('0.001');
    expect(toPlain(parseUserDecimal(' 1,000 ')!)).toBe('1000');
    expect(toPlain(parseUserDecimal('.5')!)).toBe('0.5');
    expect(parseUserDecimal('0.123456789')).toBeNull();
    expect(parseUserDecimal('-1')).toBeNull();
    expect(parseUserDecimal('1e3')).toBeNull();
    expect(parseUserDecimal('')).toBeNull();
    expect(parseUserDecimal('abc')).toBeNull();
  });
});
