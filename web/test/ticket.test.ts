import { describe, expect, it } from 'vitest';
import { dec, toPlain } from '../src/lib/decimal';
import type { Costs, Order, Quote } from '../src/lib/types';
import {
  FALLBACK_COSTS,
  type TicketInput,
  canOrderByAmount,
  clickedPriceTarget,
  effectiveTimeInForce,
  estimate,
  fieldsOf,
  krxPriceLimits,
  listenForPrice,
  lotHint,
  modifiableFields,
  nextPhase,
  phaseFromEvents,
  rulesInForce,
  ticketHints,
  tickHint,
  timeInForceChoices,
} from '../src/state/ticket';

const plain = (d: bigint | null | undefined) => (d === null || d === undefined ? null : toPlain(d));

function quote(p: Partial<Quote> = {}): Quote {
  return {
    ticker_id: 'CRYPTO-COIN-BTC',
    price: '150000000',
    bid: '149990000',
    ask: '150010000',
    currency: 'KRW-COIN',
    ts: '2026-06-01T03:00:00Z',
    stale: false,
    prev_close: null,
    change_pct: null,
    ...p,
  };
}

function order(p: Partial<Order> = {}): Order {
  return {
    id: 'o1',
    client_order_id: 'c1',
    ticker_id: 'KRX-STOCK-005930',
    side: 'BUY',
    type: 'LIMIT',
    status: 'PENDING',
    quantity: '10',
    limit_price: '70000',
    price: null,
    currency: 'KRW',
    applied_exchange_rate: null,
    total_krw: null,
    fee_krw: null,
    reason: null,
    reason_text: null,
    created_at: '2026-06-01T01:00:00Z',
    filled_at: null,
    ...p,
  };
}

const base: TicketInput = {
  market: 'CRYPTO',
  kind: 'COIN',
  side: 'BUY',
  type: 'MARKET',
  timeInForce: 'GTC',
  quantity: dec('0.001'),
  amountKrw: null,
  limitPrice: null,
  stopPrice: null,
  trailPercent: null,
  trailAmount: null,
  quote: quote(),
  currency: 'KRW-COIN',
  usdKrw: '1400',
  availableCashKrw: '10000000',
  availableQuantity: '0',
  isOpen: true,
  costs: FALLBACK_COSTS,
  now: new Date('2026-06-01T03:00:00Z'),
};
const krx: TicketInput = { ...base, market: 'KRX', kind: 'STOCK', currency: 'KRW', timeInForce: 'DAY', quote: quote({ price: '70000', bid: '69900', ask: '70000', currency: 'KRW' }) };

describe('ticket fields and times in force', () => {
  it('shows the price fields each type takes', () => {
    expect(fieldsOf('MARKET')).toEqual({ limit: false, stop: false, trail: false });
    expect(fieldsOf('LIMIT')).toEqual({ limit: true, stop: false, trail: false });
    expect(fieldsOf('STOP')).toEqual({ limit: false, stop: true, trail: false });
    expect(fieldsOf('STOP_LIMIT')).toEqual({ limit: true, stop: true, trail: false });
    expect(fieldsOf('TRAILING_STOP')).toEqual({ limit: false, stop: false, trail: true });
  });
  it('offers crypto GTC/IOC/FOK only, stops DAY/GTC only, with the SPEC defaults', () => {
    expect(timeInForceChoices('CRYPTO', 'LIMIT')).toEqual(['GTC', 'IOC', 'FOK']);
    expect(timeInForceChoices('US', 'MARKET')).toEqual(['DAY', 'GTC', 'IOC', 'FOK', 'OPG']);
    expect(timeInForceChoices('KRX', 'STOP')).toEqual(['DAY', 'GTC']);
    expect(timeInForceChoices('CRYPTO', 'TRAILING_STOP')).toEqual(['GTC']);
    expect(effectiveTimeInForce('CRYPTO', 'LIMIT', null)).toBe('GTC');
    expect(effectiveTimeInForce('KRX', 'LIMIT', null)).toBe('DAY');
    expect(effectiveTimeInForce('KRX', 'LIMIT', 'OPG')).toBe('OPG');
    // A choice the new type does not take falls back to the default.
    expect(effectiveTimeInForce('KRX', 'STOP', 'IOC')).toBe('DAY');
    expect(effectiveTimeInForce('CRYPTO', 'MARKET', 'DAY')).toBe('GTC');
  });
  it('orders by amount for a MARKET BUY only', () => {
    expect(canOrderByAmount('MARKET', 'BUY')).toBe(true);
    expect(canOrderByAmount('MARKET', 'SELL')).toBe(false);
    expect(canOrderByAmount('LIMIT', 'BUY')).toBe(false);
  });
});

describe('정정: the fields an open order can change', () => {
  it('offers only the fields its type has, with their values', () => {
    expect(modifiableFields(order())).toEqual([['quantity', '10'], ['limit_price', '70000']]);
    expect(modifiableFields(order({ type: 'STOP', limit_price: null, stop_price: '71000' }))).toEqual([['quantity', '10'], ['stop_price', '71000']]);
    expect(modifiableFields(order({ type: 'STOP_LIMIT', stop_price: '71000' })).map(([k]) => k)).toEqual(['quantity', 'stop_price', 'limit_price']);
    expect(modifiableFields(order({ type: 'TRAILING_STOP', limit_price: null, trail_amount: '500' })).map(([k]) => k)).toEqual(['quantity', 'trail_amount']);
    expect(modifiableFields(order({ type: 'TRAILING_STOP', limit_price: null, trail_percent: '5' })).map(([k]) => k)).toEqual(['quantity', 'trail_percent']);
    // An amount order has no quantity to change (the server refuses it).
    expect(modifiableFields(order({ type: 'MARKET', limit_price: null, quantity: null, amount_krw: '100000' }))).toEqual([]);
  });
});

describe('exchange-rule hints', () => {
  it('gives the tick and the two nearest valid prices', () => {
    const h = tickHint('KRX', 'STOCK', dec('70001.5'))!;
    expect([plain(h.step), plain(h.below), plain(h.above)]).toEqual(['100', '70000', '70100']);
    expect(tickHint('KRX', 'STOCK', dec('70000'))).toBeNull();
    expect(tickHint('KRX', 'STOCK', dec('1999'))).toBeNull(); // below 2,000 the tick is 1
    const etf = tickHint('KRX', 'ETF', dec('10003'))!;
    expect([plain(etf.step), plain(etf.below), plain(etf.above)]).toEqual(['5', '10000', '10005']);
    const us = tickHint('US', 'STOCK', dec('10.005'))!;
    expect([plain(us.step), plain(us.below), plain(us.above)]).toEqual(['0.01', '10', '10.01']);
    expect(tickHint('US', 'STOCK', dec('0.5001'))).toBeNull(); // under $1: $0.0001
    const btc = tickHint('CRYPTO', 'COIN', dec('150000500'))!;
    expect([plain(btc.step), plain(btc.below), plain(btc.above)]).toEqual(['1000', '150000000', '150001000']);
  });
  it('knows whole KRX shares and US fractions for MARKET only', () => {
    const h = lotHint('KRX', 'LIMIT', dec('0.5'))!;
    expect([plain(h.below), plain(h.above)]).toEqual([null, '1']);
    expect(lotHint('US', 'MARKET', dec('0.5'))).toBeNull();
    const us = lotHint('US', 'LIMIT', dec('2.5'))!;
    expect([plain(us.below), plain(us.above)]).toEqual(['2', '3']);
    expect(lotHint('CRYPTO', 'LIMIT', dec('0.00000001'))).toBeNull();
  });
  it("computes KRX's ±30 % limits as KRX's worked example", () => {
    const l = krxPriceLimits('STOCK', dec('9980'));
    expect([plain(l.lower), plain(l.upper)]).toEqual(['6990', '12970']);
  });
  it('hints at what the door will refuse, by field', () => {
    const bad = { ...krx, type: 'LIMIT' as const, quantity: dec('1.5'), limitPrice: dec('70001.5') };
    expect(ticketHints(bad, estimate(bad)).map((h) => [h.key, h.field])).toEqual([
      ['lot', 'quantity'],
      ['tick', 'limit_price'],
    ]);
    const far = { ...krx, type: 'LIMIT' as const, quantity: dec('1'), limitPrice: dec('100000'), quote: quote({ price: '70000', prev_close: '70000', currency: 'KRW' }) };
    const lim = ticketHints(far, estimate(far)).find((h) => h.key === 'priceLimits');
    expect(lim && [plain(lim.lower), plain(lim.upper)]).toEqual(['49000', '91000']);
    const tiny = { ...base, quantity: dec('0.00001') };
    expect(ticketHints(tiny, estimate(tiny)).map((h) => h.key)).toEqual(['minimum']);
    const trail = { ...base, side: 'SELL' as const, type: 'TRAILING_STOP' as const, trailPercent: dec('150') };
    expect(ticketHints(trail, estimate(trail)).map((h) => h.key)).toContain('trailPercent');
    const small = { ...base, quantity: null, amountKrw: dec('1') };
    expect(ticketHints(small, estimate(small)).map((h) => h.key)).toContain('amountTooSmall');
  });
});

describe('ticket estimate with the server cost rules', () => {
  it('estimates a market buy at the ask, with the fee on top', () => {
    const e = estimate(base);
    expect(plain(e.price)).toBe('150010000');
    expect(plain(e.valueKrw)).toBe('150010');
    expect(plain(e.feeKrw)).toBe('75.005'); // 0.05 % (Upbit)
    expect(plain(e.totalKrw)).toBe('150085.005');
    expect(e.reserveKrw).not.toBeNull();
    expect(e.warnings).toEqual([]);
  });
  it('takes the commission and the KRX sell tax from a stock sale, not from an ETF', () => {
    const sell = { ...krx, side: 'SELL' as const, quantity: dec('10'), quote: quote({ price: '71000', bid: '71000', currency: 'KRW' }), availableQuantity: '10' };
    const e = estimate(sell);
    expect(e.fees.map((f) => [f.kind, plain(f.amount)])).toEqual([
      ['commission', '106.5'],
      ['transaction_tax', '1420'], // 0.20 % from 2026-01-01
    ]);
    expect(plain(e.totalKrw)).toBe('708473.5');
    expect(estimate({ ...sell, kind: 'ETF' }).fees.map((f) => f.kind)).toEqual(['commission']);
  });
  it('adds the SEC fee and FINRA TAF to a US sale, converted at the rate', () => {
    const e = estimate({ ...base, market: 'US', kind: 'STOCK', currency: 'USD', side: 'SELL', type: 'MARKET', timeInForce: 'DAY', quantity: dec('3'), quote: quote({ price: '230.17', bid: '230.17', currency: 'USD' }), usdKrw: '1452.3', availableQuantity: '3' });
    expect(plain(e.valueKrw)).toBe('1002827.673');
    expect(e.fees.map((f) => [f.kind, plain(f.amount)])).toEqual([
      ['commission', '2507.0691825'],
      ['sec_fee', '20.65825006'], // $20.60 per $1M from 2026-04-04
      ['finra_taf', '0.8495955'], // $0.000195 a share
    ]);
  });
  it('takes the rates in force on the trade date, and reads the per_share spelling too', () => {
    const costs: Costs = {
      ...FALLBACK_COSTS,
      rules: [
        { market: 'KRX', kind: 'commission', side: 'BUY', rate: '0.001', effective_from: '2000-01-01' },
        { market: 'KRX', kind: 'commission', side: 'BUY', rate: '0.002', effective_from: '2026-07-01' },
        { market: 'US', kind: 'finra_taf', side: 'SELL', per_share: '0.5', max_per_trade: '1', currency: 'USD', effective_from: '2026-01-01' },
      ],
    };
    expect(rulesInForce(costs, 'KRX', 'STOCK', 'BUY', '2026-06-30').map((r) => r.rate)).toEqual(['0.001']);
    expect(rulesInForce(costs, 'KRX', 'STOCK', 'BUY', '2026-07-01').map((r) => r.rate)).toEqual(['0.002']);
    const us = estimate({ ...base, market: 'US', kind: 'STOCK', currency: 'USD', side: 'SELL', quantity: dec('10'), quote: quote({ bid: '10', currency: 'USD' }), usdKrw: '1400', costs });
    expect(us.fees.map((f) => plain(f.amount))).toEqual(['1400']); // capped at $1 a trade
  });
  it('previews what an open buy holds: limit × qty + fee; stops with the slippage allowance; USD with the FX one', () => {
    const lim = estimate({ ...krx, type: 'LIMIT', quantity: dec('10'), limitPrice: dec('70000') });
    expect(plain(lim.reserveKrw)).toBe('700105');
    const stop = estimate({ ...krx, type: 'STOP', quantity: dec('10'), stopPrice: dec('70000') });
    expect(plain(stop.price)).toBe('70000');
    expect(plain(stop.reserveKrw)).toBe('735110.25'); // 735,000 (5 %) + 0.015 %
    const us = estimate({ ...base, market: 'US', kind: 'STOCK', currency: 'USD', type: 'LIMIT', timeInForce: 'DAY', quantity: dec('2'), limitPrice: dec('100'), usdKrw: '1400' });
    expect(plain(us.reserveKrw)).toBe('286314'); // 280,000 × 1.02 + 0.25 %
    expect(estimate({ ...krx, type: 'STOP', quantity: dec('10'), stopPrice: dec('70000'), availableCashKrw: '735000' }).warnings).toEqual(['cash']);
  });
  it('buys by amount the most whole lots the amount pays for with the fee, and holds the amount', () => {
    const e = estimate({ ...base, quantity: null, amountKrw: dec('100000') });
    expect(plain(e.quantity)).toBe('0.00066628');
    expect(plain(e.reserveKrw)).toBe('100000');
    expect(e.totalKrw! <= dec('100000')).toBe(true);
    const shares = estimate({ ...krx, quantity: null, amountKrw: dec('150000') });
    expect(plain(shares.quantity)).toBe('2'); // 2 × 70,000 + fee fits, 3 does not
  });
  it('puts a trailing stop the trail away from the last price', () => {
    const sell = estimate({ ...base, side: 'SELL', type: 'TRAILING_STOP', quantity: dec('0.01'), trailPercent: dec('5'), availableQuantity: '1' });
    expect(plain(sell.trailStop)).toBe('142500000');
    const buy = estimate({ ...base, type: 'TRAILING_STOP', quantity: dec('0.01'), trailAmount: dec('1000000') });
    expect(plain(buy.trailStop)).toBe('151000000');
    // Off the tick, the stop goes to the tick away from the mark: a SELL down, a BUY up.
    const q = quote({ price: '149990000' });
    expect(plain(estimate({ ...base, quote: q, side: 'SELL', type: 'TRAILING_STOP', quantity: dec('0.01'), trailPercent: dec('5') }).trailStop)).toBe('142490000'); // 142,490,500
    expect(plain(estimate({ ...base, quote: q, type: 'TRAILING_STOP', quantity: dec('0.01'), trailPercent: dec('5') }).trailStop)).toBe('157490000'); // 157,489,500
  });
  it('warns (without blocking) about a closed market unless the order is for the open', () => {
    expect(estimate({ ...krx, isOpen: false }).warnings).toContain('closed');
    expect(estimate({ ...krx, isOpen: false, timeInForce: 'OPG' }).warnings).not.toContain('closed');
    expect(estimate({ ...krx, type: 'LIMIT', limitPrice: dec('70000'), isOpen: false }).warnings).not.toContain('closed');
    expect(estimate({ ...base, side: 'SELL', availableQuantity: '0.0005' }).warnings).toContain('holding');
  });
});

describe("the ticket's status from the order's events", () => {
  it('moves forward through accepted, rested, triggered, partial and filled, never back', () => {
    let p = nextPhase(null, order(), { kind: 'accepted', reason: null });
    expect(p).toBe('accepted');
    p = nextPhase(p, order(), { kind: 'rested', reason: null });
    expect(p).toBe('rested');
    p = nextPhase(p, order(), { kind: 'accepted', reason: null }); // late or repeated
    expect(p).toBe('rested');
    p = nextPhase(p, order({ type: 'STOP', triggered_at: '2026-06-01T01:05:00Z' }), { kind: 'triggered', reason: null });
    expect(p).toBe('triggered');
    p = nextPhase(p, order({ status: 'PARTIALLY_FILLED', filled_quantity: '4' }), { kind: 'partially_filled', reason: null });
    expect(p).toBe('partial');
    p = nextPhase(p, order({ status: 'FILLED' }), { kind: 'filled', reason: null });
    expect(p).toBe('filled');
    expect(nextPhase(p, order(), { kind: 'accepted', reason: null })).toBe('filled'); // a late 202
  });
  it('tells an expiry from a cancel, and takes a final status the events missed', () => {
    expect(nextPhase('rested', order({ status: 'CANCELLED', reason: 'expired' }), { kind: 'cancelled', reason: 'expired' })).toBe('expired');
    expect(nextPhase('rested', order({ status: 'CANCELLED', reason: 'user_cancelled' }))).toBe('cancelled');
    expect(nextPhase(null, order({ status: 'FAILED', reason: 'insufficient_cash' }))).toBe('failed');
    expect(nextPhase(null, order({ type: 'STOP', triggered_at: '2026-06-01T01:05:00Z' }))).toBe('triggered');
  });
  it('folds the event list of GET /api/orders/{id}', () => {
    const events = [
      { kind: 'accepted' as const, reason: null },
      { kind: 'rested' as const, reason: null },
      { kind: 'modified' as const, reason: null },
    ];
    expect(phaseFromEvents(null, order(), events)).toBe('rested');
    expect(phaseFromEvents(null, order(), [])).toBe('accepted');
  });
});

describe("the order book's clicked prices", () => {
  it('fills the limit (or a STOP) field; a MARKET ticket becomes a LIMIT', () => {
    expect(clickedPriceTarget('MARKET')).toEqual({ type: 'LIMIT', field: 'limit' });
    expect(clickedPriceTarget('LIMIT')).toEqual({ type: 'LIMIT', field: 'limit' });
    expect(clickedPriceTarget('STOP_LIMIT')).toEqual({ type: 'STOP_LIMIT', field: 'limit' });
    expect(clickedPriceTarget('STOP')).toEqual({ type: 'STOP', field: 'stop' });
    expect(clickedPriceTarget('TRAILING_STOP')).toEqual({ type: 'LIMIT', field: 'limit' });
  });
  it('listens for papertrade:price of its own ticker only, until unsubscribed', () => {
    const target = new EventTarget();
    const got: string[] = [];
    const stop = listenForPrice(target, 'KRX-STOCK-005930', (p) => got.push(p));
    const fire = (detail: unknown) => target.dispatchEvent(new CustomEvent('papertrade:price', { detail }));
    fire({ ticker_id: 'KRX-STOCK-000660', price: '120000' });
    fire({ ticker_id: 'KRX-STOCK-005930', price: '70100' });
    fire({ ticker_id: 'KRX-STOCK-005930', price: 70200 });
    fire({ ticker_id: 'KRX-STOCK-005930', price: 'abc' });
    fire({ ticker_id: 'KRX-STOCK-005930', price: '-5' });
    fire(null);
    expect(got).toEqual(['70100', '70200']);
    stop();
    fire({ ticker_id: 'KRX-STOCK-005930', price: '70300' });
    expect(got).toEqual(['70100', '70200']);
  });
});
