import { describe, expect, it } from 'vitest';
import { add, cmp, dec, decOrNull, div, isDecimalString, mul, round, sub, toPlain, truncate } from '../src/lib/decimal';

describe('decimal', () => {
  it('parses API strings exactly', () => {
    expect(toPlain(dec('71000.00000000'))).toBe('71000');
    expect(toPlain(dec('0.5'))).toBe('0.5');
    expect(toPlain(dec('-1.25'))).toBe('-1.25');
    expect(toPlain(dec('.25'))).toBe('0.25');
    expect(toPlain(dec('0.00000001'))).toBe('0.00000001');
    expect(toPlain(dec('123456789012.12345678'))).toBe('123456789012.12345678');
    expect(toPlain(dec(10))).toBe('10');
    expect(toPlain(dec(3n))).toBe('3');
  });

  it('rounds digits past the 8th half away from zero', () => {
    expect(toPlain(dec('0.123456785'))).toBe('0.12345679');
    expect(toPlain(dec('0.123456784'))).toBe('0.12345678');
    expect(toPlain(dec('-0.123456785'))).toBe('-0.12345679');
  });

  it('refuses garbage', () => {
    expect(() => dec('abc')).toThrow();
    expect(() => dec('')).toThrow();
    expect(() => dec('1.2.3')).toThrow();
    expect(() => dec(0.1)).toThrow();
    expect(decOrNull(null)).toBeNull();
    expect(decOrNull('x')).toBeNull();
    expect(isDecimalString('1e5')).toBe(false);
    expect(isDecimalString('12.')).toBe(true);
  });

  it('does money arithmetic without float error', () => {
    expect(toPlain(add(dec('0.1'), dec('0.2')))).toBe('0.3');
    expect(toPlain(sub(dec('10000000'), dec('150075.5')))).toBe('9849924.5');
    // 0.001 BTC at 150,000,000 KRW
    expect(toPlain(mul(dec('0.001'), dec('150000000')))).toBe('150000');
    // 3 AAPL at 230.17 USD at 1,452.3 KRW/USD
    expect(toPlain(mul(mul(dec('3'), dec('230.17')), dec('1452.3')))).toBe('1002827.673');
    expect(toPlain(div(dec('1'), dec('3')))).toBe('0.33333333');
    expect(toPlain(div(dec('2'), dec('3')))).toBe('0.66666667');
    expect(() => div(dec('1'), dec('0'))).toThrow(RangeError);
  });

  it('rounds and truncates to places', () => {
    expect(toPlain(round(dec('9899500.5'), 0))).toBe('9899501');
    expect(toPlain(round(dec('-9899500.5'), 0))).toBe('-9899501');
    expect(toPlain(round(dec('1.005'), 2))).toBe('1.01');
    expect(toPlain(truncate(dec('0.99999999'), 4))).toBe('0.9999');
    expect(toPlain(truncate(dec('-1.99'), 0))).toBe('-1');
  });

  it('compares', () => {
    expect(cmp(dec('1'), dec('1.00000000'))).toBe(0);
    expect(cmp(dec('-1'), dec('0'))).toBe(-1);
    expect(toPlain(dec('1.5'), false)).toBe('1.50000000');
    expect(toPlain(dec('-0'))).toBe('0');
  });
});
