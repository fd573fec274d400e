import { describe, expect, it } from 'vitest';
import { initials, loadWatchlist, matches, sortInstruments, sortValue, toggleWatch } from '../src/components/marketList';
import type { Instrument, Quote } from '../src/lib/types';

const inst = (ticker_id: string, name: string, name_ko: string | null, currency = 'KRW'): Instrument =>
  ({ ticker_id, name, name_ko, market: ticker_id.split('-')[0], currency, exchange: 'X', is_open: true }) as Instrument;

const samsung = inst('KRX-STOCK-005930', 'Samsung Electronics', '삼성전자');
const hynix = inst('KRX-STOCK-000660', 'SK hynix', 'SK하이닉스');
const apple = inst('US-STOCK-AAPL', 'Apple', '애플', 'USD');

describe('초성 search', () => {
  it('reads the initial consonants', () => {
    expect(initials('삼성전자')).toBe('ㅅㅅㅈㅈ');
    expect(initials('SK하이닉스')).toBe('SKㅎㅇㄴㅅ');
  });
  it('finds 삼성전자 by ㅅㅅ and by ㅈㅈ, not by ㅎㅎ', () => {
    expect(matches(samsung, 'ㅅㅅ')).toBe(true);
    expect(matches(samsung, 'ㅈㅈ')).toBe(true);
    expect(matches(samsung, 'ㅎㅎ')).toBe(false);
    expect(matches(hynix, 'ㅎㅇㄴ')).toBe(true);
  });
  it('still matches names, symbols and ticker ids', () => {
    expect(matches(samsung, '삼성')).toBe(true);
    expect(matches(samsung, '005930')).toBe(true);
    expect(matches(apple, 'aapl')).toBe(true);
    expect(matches(apple, 'samsung')).toBe(false);
    expect(matches(apple, '')).toBe(true);
  });
});

describe('sorting', () => {
  const quotes: Record<string, Quote> = {
    'KRX-STOCK-005930': { change_pct: '1.50' } as Quote,
    'US-STOCK-AAPL': { change_pct: '-0.20' } as Quote,
  };
  const stats = {
    'KRX-STOCK-005930': { ticker_id: 'KRX-STOCK-005930', day: '2026-11-25', volume: '100', traded_value: '7100000' },
    'US-STOCK-AAPL': { ticker_id: 'US-STOCK-AAPL', day: '2026-11-24', volume: '900', traded_value: '210000' },
  };
  const by = (key: 'change' | 'volume' | 'value', dir: 'asc' | 'desc') =>
    sortInstruments([samsung, hynix, apple], key, dir, (i) => sortValue(key, i, quotes[i.ticker_id], stats[i.ticker_id as keyof typeof stats], 1450)).map(
      (i) => i.ticker_id,
    );
  it('sorts by change, unknowns last either way', () => {
    expect(by('change', 'desc')).toEqual(['KRX-STOCK-005930', 'US-STOCK-AAPL', 'KRX-STOCK-000660']);
    expect(by('change', 'asc')).toEqual(['US-STOCK-AAPL', 'KRX-STOCK-005930', 'KRX-STOCK-000660']);
  });
  it('sorts traded value in KRW (USD at the live rate)', () => {
    expect(by('value', 'desc')).toEqual(['US-STOCK-AAPL', 'KRX-STOCK-005930', 'KRX-STOCK-000660']);
    expect(by('volume', 'desc')[0]).toBe('US-STOCK-AAPL');
  });
});

describe('watchlist', () => {
  it('toggles and persists', () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    let list = toggleWatch([], 'KRX-STOCK-005930', storage);
    list = toggleWatch(list, 'US-STOCK-AAPL', storage);
    list = toggleWatch(list, 'KRX-STOCK-005930', storage);
    expect(loadWatchlist(storage)).toEqual(['US-STOCK-AAPL']);
    store.set('pt.watchlist', 'not json');
    expect(loadWatchlist(storage)).toEqual([]);
  });
});
