import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LiveSocket, backoffDelay } from '../src/lib/socket';

class FakeWS {
  static instances: FakeWS[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onclose: ((e?: { code: number; reason: string }) => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(public url: string) {
    FakeWS.instances.push(this);
  }
  send(s: string) {
    this.sent.push(JSON.parse(s));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  fail(code = 1006, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
  receive(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
}

function make(onMessage = vi.fn(), onStatus = vi.fn()) {
  const s = new LiveSocket({
    url: () => 'ws://x/ws',
    token: () => 'tok',
    onMessage,
    onStatus,
    WebSocketImpl: FakeWS as unknown as typeof WebSocket,
    random: () => 0.5,
  });
  return { s, onMessage, onStatus };
}

describe('backoff', () => {
  it('doubles from 0.5 s up to 30 s with jitter', () => {
    expect(backoffDelay(0, () => 0.5)).toBe(500);
    expect(backoffDelay(1, () => 0.5)).toBe(1000);
    expect(backoffDelay(5, () => 0.5)).toBe(16000);
    expect(backoffDelay(20, () => 0.5)).toBe(30000);
    expect(backoffDelay(0, () => 0)).toBe(375);
    expect(backoffDelay(0, () => 1)).toBe(625);
  });
});

describe('LiveSocket', () => {
  beforeEach(() => {
    FakeWS.instances = [];
    vi.useFakeTimers();
  });
  afterEach(() => vi.useRealTimers());

  it('authenticates and re-subscribes on every (re)connect', () => {
    const { s, onStatus } = make();
    const off = s.subscribe(['CRYPTO-COIN-BTC']);
    s.start();
    const ws1 = FakeWS.instances[0];
    ws1.open();
    expect(ws1.sent).toEqual([
      { op: 'auth', token: 'tok' },
      { op: 'subscribe', tickers: ['CRYPTO-COIN-BTC'] },
    ]);
    expect(onStatus).toHaveBeenLastCalledWith('open', 0);
    ws1.fail();
    expect(onStatus).toHaveBeenLastCalledWith('closed', 0);
    vi.advanceTimersByTime(500);
    const ws2 = FakeWS.instances[1];
    ws2.open();
    expect(ws2.sent).toContainEqual({ op: 'subscribe', tickers: ['CRYPTO-COIN-BTC'] });
    off();
    expect(ws2.sent).toContainEqual({ op: 'unsubscribe', tickers: ['CRYPTO-COIN-BTC'] });
    s.stop();
  });

  it('reference-counts subscriptions', () => {
    const { s } = make();
    s.start();
    const ws = FakeWS.instances[0];
    ws.open();
    const a = s.subscribe(['*']);
    const b = s.subscribe(['*', 'US-STOCK-AAPL']);
    expect(ws.sent.filter((m) => (m as { op: string }).op === 'subscribe')).toEqual([
      { op: 'subscribe', tickers: ['*'] },
      { op: 'subscribe', tickers: ['US-STOCK-AAPL'] },
    ]);
    a();
    expect(ws.sent.some((m) => (m as { op: string }).op === 'unsubscribe')).toBe(false);
    b();
    expect(ws.sent).toContainEqual({ op: 'unsubscribe', tickers: ['*', 'US-STOCK-AAPL'] });
    s.stop();
  });

  it('backs off longer after each failed attempt and resets after success', () => {
    const { s, onStatus } = make();
    s.start();
    FakeWS.instances[0].fail();
    expect(onStatus).toHaveBeenLastCalledWith('closed', 1);
    vi.advanceTimersByTime(999);
    expect(FakeWS.instances).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(FakeWS.instances).toHaveLength(2);
    FakeWS.instances[1].fail();
    vi.advanceTimersByTime(1999);
    expect(FakeWS.instances).toHaveLength(2);
    vi.advanceTimersByTime(1);
    FakeWS.instances[2].open();
    expect(onStatus).toHaveBeenLastCalledWith('open', 0);
    s.stop();
  });

  it('reports a rejected token (close 1008)', () => {
    const onRejected = vi.fn();
    const s = new LiveSocket({
      url: () => 'ws://x/ws',
      token: () => 'old',
      onMessage: vi.fn(),
      onStatus: vi.fn(),
      onRejected,
      WebSocketImpl: FakeWS as unknown as typeof WebSocket,
    });
    s.start();
    FakeWS.instances[0].open();
    FakeWS.instances[0].fail(1008, 'invalid token; log in again');
    expect(onRejected).toHaveBeenCalledWith('invalid token; log in again');
    s.stop();
  });

  it('delivers parsed messages and reconnects a silent link', () => {
    const { s, onMessage } = make();
    s.start();
    const ws = FakeWS.instances[0];
    ws.open();
    ws.receive({ type: 'quote', ticker_id: 'X', price: '1' });
    expect(onMessage).toHaveBeenCalledWith({ type: 'quote', quote: { ticker_id: 'X', price: '1' } });
    vi.advanceTimersByTime(20000);
    expect(ws.sent).toContainEqual({ op: 'ping' });
    vi.advanceTimersByTime(40000); // 60 s without a message
    expect(ws.readyState).toBe(3);
    vi.advanceTimersByTime(2000);
    expect(FakeWS.instances.length).toBe(2);
    s.stop();
  });
});
