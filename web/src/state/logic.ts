/**
 * Pure state transitions: merging orders, quotes and candles, live revaluation of the
 * portfolio, P&L, market status, search and the order ticket's estimate. No I/O here.
 */
import { type Dec, ZERO, add, dec, decOrNull, div, mul, sub, sum, toPlain } from '../lib/decimal';
import { parseTime } from '../lib/format';
import {
  type Candle,
  type EquityPoint,
  type Instrument,
  type Market,
  type Order,
  type Portfolio,
  type Quote,
  type Side,
  type OrderType,
  TERMINAL,
} from '../lib/types';

// ---------------------------------------------------------------- orders

/**
 * Milliseconds of an ISO time. Compare times this way, never as strings: the daemon omits
 * the fraction when it is zero ("…:47Z" vs "…:47.182475Z"), which breaks string order.
 */
export function timeMs(iso: string | null | undefined): number {
  const t = iso ? Date.parse(iso) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

const byNewest = (a: Order, b: Order) => timeMs(b.created_at) - timeMs(a.created_at);

/** Whether `incoming` should replace `known`: a settled order never goes back to PENDING. */
function supersedes(known: Order, incoming: Order): boolean {
  if (TERMINAL.has(known.status) && !TERMINAL.has(incoming.status)) return false;
  return true;
}

export interface OrderChange {
  order: Order;
  /** The status we knew before, or null for an order we had not seen. */
  before: Order['status'] | null;
}

/**
 * Put one order (from a 202, a GET or a websocket event) into the newest-first list.
 * Returns the same array when nothing changed, and the change that happened.
 */
export function upsertOrder(orders: Order[], incoming: Order): { orders: Order[]; change: OrderChange | null } {
  const i = orders.findIndex((o) => o.id === incoming.id);
  if (i === -1) {
    return { orders: [incoming, ...orders].sort(byNewest), change: { order: incoming, before: null } };
  }
  const known = orders[i];
  if (!supersedes(known, incoming)) return { orders, change: null };
  if (known.status === incoming.status && known.price === incoming.price && known.filled_at === incoming.filled_at) {
    return { orders, change: null };
  }
  const next = orders.slice();
  next[i] = incoming;
  return { orders: next, change: { order: incoming, before: known.status } };
}

/**
 * Merge a fetched list into what we know (e.g. after a reconnect), returning the
 * orders that settled meanwhile so they can be announced like live events.
 */
export function mergeOrders(known: Order[], fetched: Order[]): { orders: Order[]; settled: Order[] } {
  let orders = known;
  const settled: Order[] = [];
  for (const o of fetched) {
    const r = upsertOrder(orders, o);
    orders = r.orders;
    if (r.change && r.change.before === 'PENDING' && TERMINAL.has(o.status)) settled.push(o);
  }
  return { orders, settled };
}

/** True when an order change is worth a toast: a known or new order reached a final state. */
export function isSettlement(change: OrderChange | null): change is OrderChange {
  return !!change && TERMINAL.has(change.order.status) && change.before !== change.order.status;
}

// ---------------------------------------------------------------- quotes

/** Apply a batch of quotes; an older quote never replaces a newer one. Same map if unchanged. */
export function applyQuotes(quotes: Record<string, Quote>, batch: Iterable<Quote>): Record<string, Quote> {
  let next: Record<string, Quote> | null = null;
  for (const q of batch) {
    const cur = (next ?? quotes)[q.ticker_id];
    if (cur && timeMs(cur.ts) > timeMs(q.ts)) continue;
    if (cur && cur.ts === q.ts && cur.price === q.price && cur.stale === q.stale) continue;
    if (!next) next = { ...quotes };
    next[q.ticker_id] = q;
  }
  return next ?? quotes;
}

/**
 * The change % to show: the server's change_pct, else computed from prev_close.
 * Returns a decimal string of percent or null.
 */
export function changePct(q: Quote | undefined): string | null {
  if (!q) return null;
  if (q.change_pct !== null && q.change_pct !== undefined) return q.change_pct;
  const prev = decOrNull(q.prev_close);
  const last = decOrNull(q.price);
  if (prev === null || last === null || prev === ZERO) return null;
  return toPlain(div(mul(sub(last, prev), dec(100)), prev));
}

// ---------------------------------------------------------------- candles

export interface Bar {
  /** UTC seconds of the bar's start. */
  time: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export function toBar(c: Pick<Candle, 'time' | 'open' | 'high' | 'low' | 'close'>): Bar | null {
  const t = parseTime(c.time);
  if (!t) return null;
  return { time: Math.floor(t.getTime() / 1000), open: +c.open, high: +c.high, low: +c.low, close: +c.close };
}

/** Merge the forming bar: replace the last bar of the same minute, append a newer one, drop older. */
export function mergeBar(bars: Bar[], bar: Bar): { bars: Bar[]; applied: boolean } {
  const last = bars[bars.length - 1];
  if (!last || bar.time > last.time) return { bars: [...bars, bar], applied: true };
  if (bar.time === last.time) return { bars: [...bars.slice(0, -1), bar], applied: true };
  return { bars, applied: false };
}

/** Fold a trade price into the forming bar (when only a quote arrived), starting a new minute if due. */
export function barFromPrice(last: Bar | undefined, priceNum: number, tsIso: string): Bar | null {
  const t = parseTime(tsIso);
  if (!t) return null;
  const minute = Math.floor(t.getTime() / 60000) * 60;
  if (last && minute < last.time) return null;
  if (last && minute === last.time) {
    return { ...last, high: Math.max(last.high, priceNum), low: Math.min(last.low, priceNum), close: priceNum };
  }
  const open = last ? last.close : priceNum;
  return { time: minute, open, high: Math.max(open, priceNum), low: Math.min(open, priceNum), close: priceNum };
}

// ---------------------------------------------------------------- portfolio

/** KRW per one unit of the asset's currency: 1 for KRW and KRW-COIN, the USD/KRW rate for USD. */
export function fxFor(currency: string, usdKrw: string | null | undefined): Dec | null {
  if (currency === 'USD') return decOrNull(usdKrw);
  return dec(1);
}

/**
 * Re-value the portfolio at live prices: market value = quantity × last × fx, P&L =
 * (last − average) × quantity × fx, equity = cash + Σ value. Positions with no live
 * quote keep the server's figures. Amounts stay exact (8 decimals).
 */
export function revalue(p: Portfolio, quotes: Record<string, Quote>, usdKrw: string | null): Portfolio {
  let changed = false;
  const positions = p.positions.map((pos) => {
    const q = quotes[pos.ticker_id];
    if (!q) return pos;
    const fx = fxFor(pos.currency, usdKrw ?? pos.fx_rate) ?? decOrNull(pos.fx_rate);
    const last = decOrNull(q.price);
    const quantity = decOrNull(pos.quantity);
    const avg = decOrNull(pos.average_price);
    if (fx === null || last === null || quantity === null || avg === null) return pos;
    const value = mul(mul(quantity, last), fx);
    const pnl = mul(mul(sub(last, avg), quantity), fx);
    const next = {
      ...pos,
      last_price: q.price,
      fx_rate: pos.currency === 'USD' ? toPlain(fx) : pos.fx_rate,
      market_value_krw: toPlain(value),
      unrealized_pnl_krw: toPlain(pnl),
    };
    if (next.market_value_krw !== pos.market_value_krw || next.last_price !== pos.last_price) changed = true;
    return next;
  });
  if (!changed) return p;
  const equity = add(dec(p.cash_krw), sum(positions.map((x) => dec(x.market_value_krw))));
  return { ...p, positions, equity_krw: toPlain(equity) };
}

export interface PnlSummary {
  invested: string;
  today: string | null;
  todayPct: string | null;
  total: string;
  totalPct: string | null;
}

function pctOf(change: Dec, base: Dec): string | null {
  if (base === ZERO) return null;
  return toPlain(div(mul(change, dec(100)), base));
}

/**
 * Today's P&L is equity now minus the last snapshot before local midnight (or the first
 * snapshot of today, or the starting cash when there is no history yet). Total P&L is
 * equity minus the starting cash.
 */
export function pnlSummary(p: Portfolio, history: EquityPoint[], initialCash: string, now: Date): PnlSummary {
  const equity = dec(p.equity_krw);
  const invested = sum(p.positions.map((x) => dec(x.market_value_krw)));
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
  let base: Dec | null = null;
  for (const h of history) {
    const t = parseTime(h.time)?.getTime();
    if (t === undefined) continue;
    if (t < midnight) base = decOrNull(h.equity_krw);
    else {
      if (base === null) base = decOrNull(h.equity_krw);
      break;
    }
  }
  if (base === null) base = history.length === 0 ? dec(initialCash) : null;
  const initial = dec(initialCash);
  const total = sub(equity, initial);
  return {
    invested: toPlain(invested),
    today: base === null ? null : toPlain(sub(equity, base)),
    todayPct: base === null ? null : pctOf(sub(equity, base), base),
    total: toPlain(total),
    totalPct: pctOf(total, initial),
  };
}

// ---------------------------------------------------------------- markets

export interface MarketStatus {
  market: Market;
  isOpen: boolean;
  nextOpen: string | null;
  nextClose: string | null;
}

export const MARKETS: Market[] = ['KRX', 'US', 'CRYPTO'];

/** One status per market, from its instruments (they share a calendar). */
export function marketStatuses(instruments: Instrument[]): MarketStatus[] {
  return MARKETS.map((market) => {
    const first = instruments.find((i) => i.market === market);
    return {
      market,
      isOpen: first ? first.is_open : market === 'CRYPTO',
      nextOpen: first?.next_open ?? null,
      nextClose: first?.next_close ?? null,
    };
  });
}

/** The soonest market open/close still in the future, in ms from now (to refresh statuses then). */
export function msUntilNextBoundary(statuses: MarketStatus[], now: Date): number | null {
  let best: number | null = null;
  for (const s of statuses) {
    for (const iso of [s.nextOpen, s.nextClose]) {
      const t = parseTime(iso)?.getTime();
      if (t === undefined) continue;
      const ms = t - now.getTime();
      if (ms > 0 && (best === null || ms < best)) best = ms;
    }
  }
  return best;
}

/** The short symbol of a ticker id: "KRX-STOCK-005930" → "005930". */
export function symbolOf(tickerId: string): string {
  const parts = tickerId.split('-');
  return parts.length >= 3 ? parts.slice(2).join('-') : tickerId;
}

/** Search by symbol, English or Korean name; case- and space-insensitive. */
export function filterInstruments(list: Instrument[], query: string, market: Market | 'ALL'): Instrument[] {
  const q = query.trim().toLowerCase().replace(/\s+/g, '');
  return list.filter((i) => {
    if (market !== 'ALL' && i.market !== market) return false;
    if (!q) return true;
    const hay = [i.ticker_id, symbolOf(i.ticker_id), i.name, i.name_ko ?? ''].map((s) => s.toLowerCase().replace(/\s+/g, ''));
    return hay.some((h) => h.includes(q));
  });
}

// ---------------------------------------------------------------- order ticket

export interface TicketInput {
  side: Side;
  type: OrderType;
  quantity: Dec | null;
  limitPrice: Dec | null;
  quote: Quote | undefined;
  currency: string;
  usdKrw: string | null;
  cashKrw: string | null;
  holding: string | null;
  isOpen: boolean;
}

export interface TicketEstimate {
  /** Price per unit in the asset's currency used for the estimate. */
  price: Dec | null;
  fx: Dec | null;
  totalKrw: Dec | null;
  warnings: Array<'cash' | 'holding' | 'closed' | 'stale'>;
}

/**
 * The ticket's preview: a market order is estimated at the ask (buy) or bid (sell),
 * falling back to the last price; a limit order at its limit. Warnings do not block:
 * the server decides and its reason is shown.
 */
export function estimate(t: TicketInput): TicketEstimate {
  let price: Dec | null = null;
  if (t.type === 'LIMIT') price = t.limitPrice;
  else if (t.quote) price = decOrNull(t.side === 'BUY' ? t.quote.ask : t.quote.bid) ?? decOrNull(t.quote.price);
  const fx = fxFor(t.currency, t.usdKrw);
  const totalKrw = price !== null && fx !== null && t.quantity !== null ? mul(mul(t.quantity, price), fx) : null;
  const warnings: TicketEstimate['warnings'] = [];
  if (t.side === 'BUY' && totalKrw !== null && t.cashKrw !== null && totalKrw > dec(t.cashKrw)) warnings.push('cash');
  if (t.side === 'SELL' && t.quantity !== null && t.quantity > (decOrNull(t.holding) ?? ZERO)) warnings.push('holding');
  if (!t.isOpen && t.type === 'MARKET') warnings.push('closed');
  if (t.quote?.stale && t.isOpen) warnings.push('stale');
  return { price, fx, totalKrw, warnings };
}
