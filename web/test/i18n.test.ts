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

  it('says 미체결 for an open order, as Korean brokers do', () => {
    expect(dictionaries.ko['orders.PENDING']).toBe('미체결');
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
