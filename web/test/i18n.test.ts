import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dictionaries, readableDetail, reasonText } from '../src/lib/i18n';

describe('Korean copy', () => {
  it('uses one polite register (해요체) everywhere, never 합니다체', () => {
    const formal = Object.entries(dictionaries.ko).filter(([, v]) => /니다[.!]?|니까\?/.test(v));
    expect(formal).toEqual([]);
    for (const code of ['market_closed', 'insufficient_cash', 'stale_price', 'expired', 'account_reset', 'too_many_open_orders']) {
      expect(reasonText('ko', code, null)).not.toMatch(/니다/);
    }
  });

  it('says 미체결 for an open order, as Korean brokers do, and 부분체결 for a partly filled one', () => {
    expect(dictionaries.ko['orders.PENDING']).toBe('미체결');
    expect(dictionaries.ko['orders.open']).toBe('미체결');
    expect(dictionaries.ko['orders.PARTIALLY_FILLED']).toBe('부분체결');
  });

  it('has words for every reason code of SPEC 6A in both languages', () => {
    const codes = ['expired', 'fok_unfilled', 'ioc_unfilled', 'insufficient_liquidity', 'amount_too_small', 'below_minimum', 'season_started', 'outside_price_limits', 'calendar_unknown'];
    for (const code of codes) {
      const ko = reasonText('ko', code, 'server sentence');
      expect(ko, code).toMatch(/[가-힣]/);
      expect(ko, code).not.toMatch(/니다/);
      expect(reasonText('en', code, 'server sentence'), code).not.toBe('server sentence');
    }
  });

  it("has words for every code in the daemon's reasons list (daemon/reasons.py)", () => {
    const source = readFileSync(new URL('../../daemon/reasons.py', import.meta.url), 'utf8');
    const codes = [...source.matchAll(/^    "([a-z_]+)": /gm)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(15);
    const missing = codes.filter((c) => reasonText('ko', c, 'SERVER') === 'SERVER' || reasonText('en', c, 'SERVER') === 'SERVER');
    expect(missing).toEqual([]);
  });

  it("translates the door's exchange-rule details and keeps the numbers in the server's line", () => {
    const tick = 'limit_price 70001.5 is not on the KRX stocks (KOSPI, KOSDAQ, KONEX) tick of 100 (table in force since 2023-01-25); the nearest valid prices are 70000 or 70100';
    expect(readableDetail('ko', tick)).toEqual({ text: '호가 단위에 맞지 않는 가격이에요. 가까운 가격으로 고쳐 주세요.', secondary: tick });
    expect(readableDetail('ko', 'quantity 1.5: KRX quantities are whole shares; send 1 or 2').text).toMatch(/1주 단위/);
    expect(readableDetail('ko', 'time_in_force IOC is for MARKET and LIMIT orders; send DAY or GTC for a STOP').text).toMatch(/스탑 주문은/);
    expect(readableDetail('ko', 'a STOP order needs stop_price, the price that triggers the order').text).toMatch(/스탑 가격이 필요/);
    // PATCH refusals (409): over-committing, and an order that is no longer open.
    expect(readableDetail('ko', 'insufficient_cash: the order needs 735110.25 KRW held back; 700000 KRW is available').text).toMatch(/현금이 부족/);
    expect(readableDetail('ko', 'insufficient_quantity: the order sells 2; 1 is available to sell').text).toMatch(/수량이 부족/);
    expect(readableDetail('ko', 'order 1b2c is FILLED: only open orders can be modified').text).toMatch(/이미 체결됐거나 취소된/);
    expect(readableDetail('ko', 'quantity 1 must be more than the 2 already filled').text).toMatch(/이미 체결된 수량/);
  });

  it('translates known server details and keeps the English one only as a secondary line', () => {
    const r = readableDetail('ko', "username 'kim' is taken; choose another");
    expect(r.text).toBe('이미 사용 중인 아이디예요.');
    expect(r.secondary).toBe("username 'kim' is taken; choose another");
    expect(readableDetail('ko', 'nickname 민지 is already taken').text).toMatch(/닉네임/);
    expect(readableDetail('ko', 'quantity has more than 8 decimal places').text).toMatch(/소수점 8자리/);
    expect(readableDetail('ko', "nickname 'Minji' is taken (letter case aside); choose another").text).toMatch(/이미 사용 중인 닉네임/);
    expect(readableDetail('ko', 'nickname must be visible: U+3164 is an invisible or control character').text).toMatch(/보이지 않/);
    expect(readableDetail('ko', 'quantity must match ^[0-9]+(\\.[0-9]{1,8})?$: ASCII digits').text).toMatch(/0\.5/);
    expect(readableDetail('ko', 'something new').text).not.toMatch(/[a-z]/i);
    expect(readableDetail('en', 'quantity must be greater than 0')).toEqual({ text: 'quantity must be greater than 0', secondary: null });
  });
});
