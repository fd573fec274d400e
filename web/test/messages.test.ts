import { describe, expect, it } from 'vitest';
import { errorDetail } from '../src/lib/api';
import { reasonText, translate, dictionaries } from '../src/lib/i18n';
import { parseMessage } from '../src/lib/messages';

const orderFields = {
  id: 'o1',
  client_order_id: null,
  ticker_id: 'CRYPTO-COIN-BTC',
  side: 'BUY',
  status: 'FILLED',
  quantity: '0.001',
  limit_price: null,
  price: '150000000',
  currency: 'KRW-COIN',
  applied_exchange_rate: '1',
  total_krw: '150000',
  fee_krw: '75',
  reason: null,
  reason_text: null,
  created_at: '2025-11-26T06:00:00Z',
  filled_at: '2025-11-26T06:00:01Z',
};

describe('websocket messages', () => {
  it('parses quotes, fx, candles and control messages', () => {
    const q = parseMessage(JSON.stringify({ type: 'quote', ticker_id: 'CRYPTO-COIN-BTC', price: '1', ts: 'x' }));
    expect(q).toEqual({ type: 'quote', quote: { ticker_id: 'CRYPTO-COIN-BTC', price: '1', ts: 'x' } });
    const c = parseMessage({ type: 'candle', ticker_id: 'T', interval: '1m', time: 't', open: '1', high: '2', low: '0', close: '1', volume: '3' });
    expect(c).toEqual({ type: 'candle', ticker_id: 'T', interval: '1m', candle: { time: 't', open: '1', high: '2', low: '0', close: '1', volume: '3' } });
    expect(parseMessage('{"type":"fx","pair":"USD/KRW","rate":"1450","ts":"t"}')).toEqual({ type: 'fx', fx: { pair: 'USD/KRW', rate: '1450', ts: 't' } });
    expect(parseMessage('{"type":"heartbeat","ts":"t"}')).toEqual({ type: 'heartbeat', ts: 't' });
    expect(parseMessage('{"type":"pong"}')).toEqual({ type: 'pong' });
    expect(parseMessage('{"type":"error","detail":"bad token"}')).toEqual({ type: 'error', detail: 'bad token' });
    expect(parseMessage('not json')).toBeNull();
    expect(parseMessage('{"type":"mystery"}')).toBeNull();
  });

  it('reads a live feed trade, nested because a trade has a type of its own', () => {
    const trade = { id: 't1', user_id: 'u1', nickname: 'friend', ticker_id: 'CRYPTO-COIN-BTC', side: 'BUY', type: 'MARKET' };
    expect(parseMessage({ type: 'feed', trade })).toEqual({ type: 'feed', trade });
    expect(parseMessage({ type: 'feed' })).toBeNull();
  });

  it('reads order events in each shape the contract allows', () => {
    const nested = parseMessage({ type: 'order', order: { ...orderFields, type: 'LIMIT' } });
    expect(nested).toMatchObject({ type: 'order', order: { id: 'o1', type: 'LIMIT' } });
    const renamed = parseMessage({ type: 'order', ...orderFields, order_type: 'LIMIT' });
    expect(renamed).toMatchObject({ type: 'order', order: { type: 'LIMIT', status: 'FILLED' } });
    const flat = parseMessage({ type: 'order', ...orderFields });
    expect(flat).toMatchObject({ type: 'order', order: { type: 'MARKET' } });
    const flatKnown = parseMessage({ type: 'order', ...orderFields }, () => 'LIMIT');
    expect(flatKnown).toMatchObject({ order: { type: 'LIMIT' } });
    const clobbered = parseMessage({ ...orderFields, type: 'MARKET' });
    expect(clobbered).toMatchObject({ type: 'order', order: { type: 'MARKET', id: 'o1' } });
  });

  it("keeps the event that caused an order message (SPEC 6A), beside the order or inside it", () => {
    const event = { kind: 'rested', at: '2026-06-01T01:00:00Z', reason: null, reason_text: null };
    const beside = parseMessage({ type: 'order', order: { ...orderFields, type: 'STOP' }, event });
    expect(beside).toMatchObject({ type: 'order', order: { type: 'STOP', event: { kind: 'rested' } } });
    const inside = parseMessage({ type: 'order', order: { ...orderFields, type: 'TRAILING_STOP', event } });
    expect(inside).toMatchObject({ order: { type: 'TRAILING_STOP', event: { kind: 'rested' } } });
    expect(parseMessage({ ...orderFields, type: 'STOP_LIMIT' })).toMatchObject({ type: 'order', order: { type: 'STOP_LIMIT' } });
  });
});

describe('API errors', () => {
  it('shows the server detail, with validation messages', () => {
    expect(errorDetail({ status_code: 400, detail: 'quantity must be positive' }, 'x')).toBe('quantity must be positive');
    expect(errorDetail({ detail: 'Validation failed', extra: [{ message: 'too short', key: 'password' }] }, 'x')).toBe('Validation failed: too short');
    expect(errorDetail(null, 'Bad Gateway')).toBe('Bad Gateway');
  });
});

describe('i18n', () => {
  it('has every key in both languages and fills placeholders', () => {
    expect(Object.keys(dictionaries.en).sort()).toEqual(Object.keys(dictionaries.ko).sort());
    expect(translate('ko', 'ticket.submitBuy', { name: '비트코인' })).toBe('비트코인 매수');
    expect(translate('en', 'ticket.submitBuy', { name: 'Bitcoin' })).toBe('Buy Bitcoin');
  });
  it('translates every reason code the daemon documents', () => {
    const codes = ['market_closed', 'insufficient_cash', 'insufficient_quantity', 'stale_price', 'stale_fx_rate', 'no_price', 'value_too_large', 'expired', 'user_cancelled', 'unknown_instrument', 'undeliverable'];
    for (const c of codes) {
      expect(reasonText('ko', c, 'english')).not.toBe('english');
      expect(reasonText('ko', c, null)).toMatch(/[가-힣]/);
    }
    expect(reasonText('en', 'brand_new_code', 'Server sentence.')).toBe('Server sentence.');
    expect(reasonText('ko', null, null)).toBeNull();
  });
});
