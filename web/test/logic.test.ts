import { describe, expect, it } from 'vitest';
import { dec, toPlain } from '../src/lib/decimal';
import type { Instrument, Order, Portfolio, Quote, Trade } from '../src/lib/types';
import {
  addToFeed,
  applyQuotes,
  barFromPrice,
  changePct,
  equityPoints,
  filterInstruments,
  fresherFx,
  isMe,
  isSettlement,
  marketStatuses,
  mergeBar,
  mergeOrders,
  msUntilNextBoundary,
  pnlSummary,
  revalue,
  symbolOf,
  toBar,
  upsertOrder,
  usdKrwFor,
} from '../src/state/logic';

function order(p: Partial<Order> = {}): Order {
  return {
    id: 'o1',
    client_order_id: 'c1',
    ticker_id: 'CRYPTO-COIN-BTC',
    side: 'BUY',
    type: 'MARKET',
    status: 'PENDING',
    quantity: '0.001',
    limit_price: null,
    price: null,
    currency: 'KRW-COIN',
    applied_exchange_rate: null,
    total_krw: null,
    fee_krw: null,
    reason: null,
    reason_text: null,
    created_at: '2025-11-26T06:00:00Z',
    filled_at: null,
    ...p,
  };
}

function quote(p: Partial<Quote> = {}): Quote {
  return {
    ticker_id: 'CRYPTO-COIN-BTC',
    price: '150000000',
    bid: '149990000',
    ask: '150010000',
    currency: 'KRW-COIN',
    ts: '2025-11-26T06:00:01Z',
    stale: false,
    prev_close: '148000000',
    change_pct: '1.35',
    ...p,
  };
}

describe('orders', () => {
  it('adds new orders newest first', () => {
    const a = order({ id: 'a', created_at: '2025-11-26T06:00:00Z' });
    const b = order({ id: 'b', created_at: '2025-11-26T06:01:00Z' });
    let r = upsertOrder([], a);
    expect(r.change).toEqual({ order: a, before: null });
    r = upsertOrder(r.orders, b);
    expect(r.orders.map((o) => o.id)).toEqual(['b', 'a']);
  });

  it('never lets a late 202 (PENDING) overwrite a fill that came first on the socket', () => {
    const filled = order({ status: 'FILLED', price: '150000000', filled_at: '2025-11-26T06:00:01Z' });
    const r1 = upsertOrder([], filled);
    const r2 = upsertOrder(r1.orders, order());
    expect(r2.orders).toBe(r1.orders);
    expect(r2.orders[0].status).toBe('FILLED');
    expect(r2.change).toBeNull();
  });

  it('reports a settlement once', () => {
    const r1 = upsertOrder([], order());
    expect(isSettlement(r1.change)).toBe(false);
    const r2 = upsertOrder(r1.orders, order({ status: 'FAILED', reason: 'insufficient_cash' }));
    expect(isSettlement(r2.change)).toBe(true);
    expect(r2.change!.before).toBe('PENDING');
    const r3 = upsertOrder(r2.orders, order({ status: 'FAILED', reason: 'insufficient_cash' }));
    expect(isSettlement(r3.change)).toBe(false);
  });

  it('finds orders that settled while disconnected', () => {
    const known = [order({ id: 'a' }), order({ id: 'b', status: 'FILLED' })];
    const fetched = [order({ id: 'a', status: 'FILLED', price: '1' }), order({ id: 'b', status: 'FILLED' }), order({ id: 'c' })];
    const r = mergeOrders(known, fetched);
    expect(r.settled.map((o) => o.id)).toEqual(['a']);
    expect(r.orders).toHaveLength(3);
  });
});

describe('quotes', () => {
  it('compares times as instants, not strings (the fraction may be missing)', () => {
    const older = quote({ price: '1', ts: '2026-11-26T09:38:47Z' });
    const newer = quote({ price: '2', ts: '2026-11-26T09:38:47.182475Z' });
    expect(applyQuotes(applyQuotes({}, [newer]), [older])['CRYPTO-COIN-BTC'].price).toBe('2');
    expect(applyQuotes(applyQuotes({}, [older]), [newer])['CRYPTO-COIN-BTC'].price).toBe('2');
    const a = order({ id: 'a', created_at: '2026-11-26T09:38:47.5Z' });
    const b = order({ id: 'b', created_at: '2026-11-26T09:38:47Z' });
    expect(upsertOrder(upsertOrder([], b).orders, a).orders.map((o) => o.id)).toEqual(['a', 'b']);
  });

  it('keeps the newest quote per ticker', () => {
    const q1 = quote({ price: '1', ts: '2025-11-26T06:00:02Z' });
    const q0 = quote({ price: '0', ts: '2025-11-26T06:00:01Z' });
    const m = applyQuotes({}, [q1, q0]);
    expect(m['CRYPTO-COIN-BTC'].price).toBe('1');
    expect(applyQuotes(m, [q1])).toBe(m);
  });
  it('computes change % from prev_close when the server does not send it', () => {
    expect(changePct(quote({ change_pct: '-1.25' }))).toBe('-1.25');
    expect(changePct(quote({ change_pct: null, price: '101', prev_close: '100' }))).toBe('1');
    expect(changePct(quote({ change_pct: null, prev_close: null }))).toBeNull();
    expect(changePct(undefined)).toBeNull();
  });
});

describe('candles', () => {
  it('converts ISO bar starts to UTC seconds', () => {
    expect(toBar({ time: '2025-11-26T06:01:00Z', open: '1', high: '2', low: '0.5', close: '1.5' })).toEqual({
      time: 1764136860,
      open: 1,
      high: 2,
      low: 0.5,
      close: 1.5,
    });
  });
  it('replaces the forming bar, appends the next, ignores older', () => {
    const bars = [{ time: 60, open: 1, high: 1, low: 1, close: 1 }];
    expect(mergeBar(bars, { time: 60, open: 1, high: 2, low: 1, close: 2 }).bars).toHaveLength(1);
    expect(mergeBar(bars, { time: 120, open: 2, high: 2, low: 2, close: 2 }).bars).toHaveLength(2);
    expect(mergeBar(bars, { time: 0, open: 2, high: 2, low: 2, close: 2 }).applied).toBe(false);
  });
  it('folds a quote into the forming bar or starts the next minute', () => {
    const last = { time: 1764136860, open: 10, high: 11, low: 9, close: 10 };
    expect(barFromPrice(last, 12, '2025-11-26T06:01:30Z')).toEqual({ ...last, high: 12, close: 12 });
    expect(barFromPrice(last, 8, '2025-11-26T06:02:05Z')).toEqual({ time: 1764136920, open: 10, high: 10, low: 8, close: 8 });
    expect(barFromPrice(last, 8, '2025-11-26T06:00:05Z')).toBeNull();
  });
});

describe('portfolio', () => {
  const p: Portfolio = {
    cash_krw: '9849925',
    equity_krw: '9999925',
    positions: [
      {
        ticker_id: 'CRYPTO-COIN-BTC',
        quantity: '0.001',
        average_price: '150000000',
        currency: 'KRW-COIN',
        last_price: '150000000',
        fx_rate: '1',
        market_value_krw: '150000',
        unrealized_pnl_krw: '0',
      },
      {
        ticker_id: 'US-STOCK-AAPL',
        quantity: '2',
        average_price: '230',
        currency: 'USD',
        last_price: '230',
        fx_rate: '1450',
        market_value_krw: '667000',
        unrealized_pnl_krw: '0',
      },
    ],
  };

  it('re-values positions at live prices and FX, exactly', () => {
    const quotes = {
      'CRYPTO-COIN-BTC': quote({ price: '151000000' }),
      'US-STOCK-AAPL': quote({ ticker_id: 'US-STOCK-AAPL', price: '231.5', currency: 'USD' }),
    };
    const r = revalue(p, quotes, { rate: '1452.3', at: 2 }, 1);
    expect(r.positions[0].market_value_krw).toBe('151000');
    expect(r.positions[0].unrealized_pnl_krw).toBe('1000');
    expect(r.positions[1].market_value_krw).toBe('672414.9'); // 2 × 231.5 × 1452.3
    expect(r.positions[1].unrealized_pnl_krw).toBe('4356.9'); // (231.5 − 230) × 2 × 1452.3
    expect(r.positions[1].fx_rate).toBe('1452.3');
    expect(r.equity_krw).toBe(toPlain(dec('9849925') + dec('151000') + dec('672414.9')));
  });

  it('leaves the portfolio alone without quotes', () => {
    expect(revalue(p, {}, null, 1)).toBe(p);
  });

  it("never prefers a rate older than the portfolio answer's over it", () => {
    // The live rate came in (at 1) before the portfolio answer (at 5): the answer's 1450 is fresher.
    const stale = revalue(p, {}, { rate: '1300', at: 1 }, 5);
    expect(stale).toBe(p);
    expect(usdKrwFor({ rate: '1300', at: 1 }, p, 5)).toBe('1450');
    // A rate that came in after the answer re-values the USD position, even without a new quote.
    const fresh = revalue(p, {}, { rate: '1460', at: 9 }, 5);
    expect(fresh.positions[1].market_value_krw).toBe('671600'); // 2 × 230 × 1460
    expect(fresh.positions[1].fx_rate).toBe('1460');
    expect(usdKrwFor({ rate: '1460', at: 9 }, p, 5)).toBe('1460');
    expect(usdKrwFor({ rate: '1460', at: 9 }, null, 0)).toBe('1460');
  });

  it('keeps the freshest FX rate by its time', () => {
    const a = { pair: 'USD/KRW', rate: '1450', ts: '2025-11-26T06:00:05Z' };
    const older = { pair: 'USD/KRW', rate: '1300', ts: '2025-11-26T06:00:01Z' };
    const newer = { pair: 'USD/KRW', rate: '1455', ts: '2025-11-26T06:00:09.5Z' };
    expect(fresherFx(a, older)).toBe(a);
    expect(fresherFx(a, newer)).toBe(newer);
    expect(fresherFx(a, { ...a })).toBe(a);
    expect(fresherFx(null, older)).toBe(older);
  });

  const server: Portfolio = {
    ...p,
    equity_krw: '10666925', // cash + both positions, as the server sends it
    day_start_equity_krw: '10000925',
    day_pnl_krw: '-1000',
    day_return_pct: '-0.01',
    net_deposits_krw: '10000000',
    total_pnl_krw: '-75',
    total_return_pct: '0.00',
  };

  it("shows the server's P&L figures as they are while prices have not moved", () => {
    const s = pnlSummary(server, server);
    expect(s).toEqual({ invested: '817000', today: '-1000', todayPct: '-0.01', total: '-75', totalPct: '0.00' });
  });

  it('moves the P&L by what live prices changed since the answer', () => {
    const live = revalue(server, { 'CRYPTO-COIN-BTC': quote({ price: '151000000' }) }, null, 1);
    const s = pnlSummary(live, server);
    expect(s.today).toBe('0'); // −1000 + 1000
    expect(s.total).toBe('925');
    expect(s.totalPct).toBe('0.00925'); // 925 / 10,000,000 × 100
    expect(s.todayPct).toBe('0');
  });

  it('shows unknown (not a guess) when the server sent no P&L', () => {
    const s = pnlSummary(p, p);
    expect(s.today).toBeNull();
    expect(s.total).toBeNull();
    expect(s.todayPct).toBeNull();
  });

  it('draws only real snapshots: no synthetic "now" point', () => {
    expect(equityPoints([])).toEqual([]);
    const pts = equityPoints([
      { time: '2025-11-26T06:00:00Z', equity_krw: '10000000' },
      { time: '2025-11-26T06:05:00Z', equity_krw: '10000500' },
    ]);
    expect(pts).toEqual([
      { time: 1764136800, value: 10000000 },
      { time: 1764137100, value: 10000500 },
    ]);
  });

  it('finds "me" in the rankings by user id, never by nickname', () => {
    const me = { id: 'u1', username: 'a', nickname: '민지', role: 'USER' };
    const row = { rank: 1, nickname: '민지', equity_krw: '1', return_pct: '0' };
    expect(isMe({ ...row, user_id: 'u2' }, me)).toBe(false);
    expect(isMe({ ...row, user_id: 'u1' }, me)).toBe(true);
    expect(isMe(row, me)).toBe(false);
    expect(isMe({ ...row, user_id: 'u1' }, null)).toBe(false);
  });
});

describe('markets', () => {
  const inst = (p: Partial<Instrument>): Instrument => ({
    ticker_id: 'KRX-STOCK-005930',
    name: 'Samsung Electronics',
    name_ko: '삼성전자',
    market: 'KRX',
    currency: 'KRW',
    exchange: 'KOSPI',
    is_open: false,
    next_open: '2025-11-27T00:00:00Z',
    next_close: null,
    ...p,
  });
  const list = [
    inst({}),
    inst({ ticker_id: 'US-STOCK-AAPL', name: 'Apple', name_ko: '애플', market: 'US', currency: 'USD', exchange: 'NAS', is_open: true, next_open: null, next_close: '2025-11-26T21:00:00Z' }),
    inst({ ticker_id: 'CRYPTO-COIN-BTC', name: 'Bitcoin', name_ko: '비트코인', market: 'CRYPTO', currency: 'KRW-COIN', exchange: 'UPBIT', is_open: true, next_open: null, next_close: null }),
  ];

  it('searches symbols and both names', () => {
    expect(filterInstruments(list, '삼성', 'ALL').map((i) => i.ticker_id)).toEqual(['KRX-STOCK-005930']);
    expect(filterInstruments(list, 'aapl', 'ALL')).toHaveLength(1);
    expect(filterInstruments(list, 'bit coin', 'ALL')).toHaveLength(1);
    expect(filterInstruments(list, '005930', 'ALL')).toHaveLength(1);
    expect(filterInstruments(list, '', 'US').map((i) => i.market)).toEqual(['US']);
    expect(filterInstruments(list, 'apple', 'KRX')).toHaveLength(0);
  });

  it('summarises each market and the next boundary', () => {
    const s = marketStatuses(list);
    expect(s.map((x) => [x.market, x.isOpen])).toEqual([
      ['KRX', false],
      ['US', true],
      ['CRYPTO', true],
    ]);
    expect(msUntilNextBoundary(s, new Date('2025-11-26T20:00:00Z'))).toBe(3600000);
    expect(symbolOf('US-STOCK-BRK.B')).toBe('BRK.B');
  });
});

describe('addToFeed', () => {
  const trade = (id: string, filled_at: string): Trade => ({
    id,
    user_id: 'u1',
    nickname: 'friend',
    ticker_id: 'CRYPTO-COIN-BTC',
    side: 'BUY',
    type: 'MARKET',
    quantity: '0.001',
    price: '150000000',
    currency: 'KRW',
    total_krw: '150000',
    filled_at,
  });

  it('puts a live trade first, keeps each once and at most the limit', () => {
    const older = [trade('b', '2026-12-01T03:00:01Z'), trade('a', '2026-12-01T03:00:00Z')];
    const live = trade('c', '2026-12-01T03:00:02.5Z');
    expect(addToFeed(older, live, 20).map((t) => t.id)).toEqual(['c', 'b', 'a']);
    expect(addToFeed(addToFeed(older, live, 20), live, 20).map((t) => t.id)).toEqual(['c', 'b', 'a']);
    expect(addToFeed(older, live, 2).map((t) => t.id)).toEqual(['c', 'b']);
  });

  it('places a trade older than the list by its time, not its arrival', () => {
    const list = [trade('b', '2026-12-01T03:00:02Z'), trade('a', '2026-12-01T03:00:00Z')];
    expect(addToFeed(list, trade('m', '2026-12-01T03:00:01Z'), 20).map((t) => t.id)).toEqual(['b', 'm', 'a']);
    expect(addToFeed([], trade('m', '2026-12-01T03:00:01Z'), 20).map((t) => t.id)).toEqual(['m']);
  });
});
