import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Order, OrderDetail } from '../src/lib/types';
import { placeOrder, receiveOrder, refreshPortfolio } from '../src/state/actions';
import { getState, initialState, setState } from '../src/state/store';

function order(p: Partial<Order> = {}): Order {
  return {
    id: 'o1',
    client_order_id: 'c1',
    ticker_id: 'CRYPTO-COIN-BTC',
    side: 'BUY',
    type: 'STOP',
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
    created_at: '2026-06-01T01:00:00Z',
    filled_at: null,
    stop_price: '225000000',
    ...p,
  };
}

describe('taking in orders with their events', () => {
  afterEach(() => {
    setState(initialState());
    vi.unstubAllGlobals();
  });

  it("moves the order's phase with the websocket event and keeps the event off the stored order", () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{}', { status: 503 })));
    receiveOrder(order());
    expect(getState().orderPhases.o1).toBe('accepted');
    receiveOrder({ ...order(), event: { kind: 'rested', at: '2026-06-01T01:00:01Z', reason: null, reason_text: null } });
    expect(getState().orderPhases.o1).toBe('rested');
    expect(getState().orders[0]).not.toHaveProperty('event');
    // A modification moves the stop; the phase stays.
    receiveOrder({ ...order({ stop_price: '226000000' }), event: { kind: 'modified', at: '2026-06-01T01:00:02Z', reason: null, reason_text: null } });
    expect(getState().orders[0].stop_price).toBe('226000000');
    expect(getState().orderPhases.o1).toBe('rested');
  });

  it('folds the events of GET /api/orders/{id} (the fallback polling) and stores no receipts', () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('{}', { status: 503 })));
    const detail: OrderDetail = {
      ...order({ status: 'CANCELLED', reason: 'expired' }),
      fills: [],
      events: [
        { seq: 1, kind: 'accepted', at: '2026-06-01T01:00:00Z', reason: null, reason_text: null, detail: null },
        { seq: 2, kind: 'rested', at: '2026-06-01T01:00:01Z', reason: null, reason_text: null, detail: null },
        { seq: 3, kind: 'cancelled', at: '2026-06-01T06:30:00Z', reason: 'expired', reason_text: null, detail: null },
      ],
    };
    receiveOrder(detail);
    expect(getState().orderPhases.o1).toBe('expired');
    expect(getState().orders[0]).not.toHaveProperty('events');
    expect(getState().orders[0]).not.toHaveProperty('fills');
  });

  it('fetches the portfolio once more when asked during a fetch (the first may predate the change)', async () => {
    const portfolio = { cash_krw: '1', positions: [], equity_krw: '1' };
    const fetch = vi.fn(async (url: string) => new Response(url.includes('history') ? '[]' : JSON.stringify(portfolio), { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    const first = refreshPortfolio();
    void refreshPortfolio(); // e.g. an order rested while the first was on its way
    await first;
    await vi.waitFor(() => expect(fetch.mock.calls.filter(([u]) => String(u) === '/api/portfolio')).toHaveLength(2));
    await new Promise((r) => setTimeout(r, 10));
    expect(fetch.mock.calls.filter(([u]) => String(u) === '/api/portfolio')).toHaveLength(2);
  });

  it('keeps what the socket told when the 202 of the same order comes after it', async () => {
    const accepted = order({ type: 'TRAILING_STOP', side: 'SELL', stop_price: null, trail_percent: '5', trail_mark: null });
    const rested = { ...accepted, stop_price: '142500000', trail_mark: '150000000' };
    vi.stubGlobal('fetch', vi.fn(async () => {
      // The settlement's events arrive while the 202 is on its way.
      receiveOrder({ ...rested, event: { kind: 'rested', at: '2026-06-01T01:00:01Z', reason: null, reason_text: null } });
      return new Response(JSON.stringify(accepted), { status: 202 });
    }));
    const r = await placeOrder({ ticker_id: 'CRYPTO-COIN-BTC', side: 'SELL', type: 'TRAILING_STOP', quantity: '0.001', trail_percent: '5', client_order_id: 'c1' });
    expect(r.order.id).toBe('o1');
    expect(getState().orders[0].stop_price).toBe('142500000');
    expect(getState().orders[0].trail_mark).toBe('150000000');
    expect(getState().orderPhases.o1).toBe('rested');
  });
});
