/**
 * Pure state transitions: merging orders, quotes and candles, live revaluation of the
 * portfolio, P&L, market status and search (the order ticket's rules: ticket.ts). No I/O here.
 */
import { type Dec, ZERO, add, dec, decOrNull, div, mul, sub, sum, toPlain } from '../lib/decimal';
import { parseTime } from '../lib/format';
import {
  type Candle,
  type EquityPoint,
  type FxRate,
  type Instrument,
  type Market,
  type Order,
  type Portfolio,
  type Quote,
  type RankingRow,
  type Trade,
  type User,
  OPEN,
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

/** The fields whose change is worth a render (a modification, a fill, a trailing stop moving). */
const SHOWN: ReadonlyArray<keyof Order> = [
  'status',
  'price',
  'filled_at',
  'quantity',
  'filled_quantity',
  'average_price',
  'limit_price',
  'stop_price',
  'trail_percent',
  'trail_amount',
  'trail_mark',
  'reserved_krw',
  'triggered_at',
  'total_krw',
  'fee_krw',
];

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
  if (SHOWN.every((k) => (known[k] ?? null) === (incoming[k] ?? null))) return { orders, change: null };
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
    if (r.change && r.change.before !== null && OPEN.has(r.change.before) && TERMINAL.has(o.status)) settled.push(o);
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

/** The fresher of two FX rates by their server time `ts`; an older one never replaces a newer. */
export function fresherFx(known: FxRate | null, incoming: FxRate): FxRate {
  if (!known) return incoming;
  const older = timeMs(incoming.ts) < timeMs(known.ts);
  const same = timeMs(incoming.ts) === timeMs(known.ts) && incoming.rate === known.rate && !!incoming.stale === !!known.stale;
  return older || same ? known : incoming;
}

/** The live USD/KRW rate and when (local ms) it was taken in, from the websocket or GET /api/fx. */
export interface LiveRate {
  rate: string;
  at: number;
}

/**
 * Re-value the portfolio at live prices: market value = quantity × last × fx, P&L =
 * (last − average) × quantity × fx, equity = cash + Σ value. A position with no live quote
 * keeps its last price. A USD position takes the live rate only when it came in after the
 * portfolio answer (`portfolioAt`, local ms); else the answer's own rate is the fresher one.
 * Amounts stay exact (8 decimals).
 */
export function revalue(p: Portfolio, quotes: Record<string, Quote>, usdKrw: LiveRate | null, portfolioAt: number): Portfolio {
  let changed = false;
  const positions = p.positions.map((pos) => {
    const lastText = quotes[pos.ticker_id]?.price ?? pos.last_price;
    const liveFx = pos.currency === 'USD' && usdKrw !== null && usdKrw.at > portfolioAt ? usdKrw.rate : pos.fx_rate;
    const fx = pos.currency === 'USD' ? decOrNull(liveFx) : dec(1);
    const last = decOrNull(lastText);
    const quantity = decOrNull(pos.quantity);
    const avg = decOrNull(pos.average_price);
    if (fx === null || last === null || quantity === null || avg === null) return pos;
    const next = {
      ...pos,
      last_price: lastText,
      fx_rate: pos.currency === 'USD' ? toPlain(fx) : pos.fx_rate,
      market_value_krw: toPlain(mul(mul(quantity, last), fx)),
      unrealized_pnl_krw: toPlain(mul(mul(sub(last, avg), quantity), fx)),
    };
    if (next.market_value_krw === pos.market_value_krw && next.last_price === pos.last_price) return pos;
    changed = true;
    return next;
  });
  if (!changed) return p;
  const equity = add(dec(p.cash_krw), sum(positions.map((x) => dec(x.market_value_krw))));
  return { ...p, positions, equity_krw: toPlain(equity) };
}

/** The USD/KRW rate the order ticket estimates with: the live one, unless the portfolio answer is fresher. */
export function usdKrwFor(usdKrw: LiveRate | null, p: Portfolio | null, portfolioAt: number): string | null {
  const fromPortfolio = p?.positions.find((x) => x.currency === 'USD' && x.fx_rate)?.fx_rate ?? null;
  if (fromPortfolio !== null && (usdKrw === null || usdKrw.at <= portfolioAt)) return fromPortfolio;
  return usdKrw?.rate ?? fromPortfolio;
}

export interface PnlSummary {
  invested: string;
  today: string | null;
  todayPct: string | null;
  total: string | null;
  totalPct: string | null;
}

function pctOf(change: Dec, base: Dec | null): string | null {
  if (base === null || base === ZERO) return null;
  return toPlain(div(mul(change, dec(100)), base));
}

/**
 * Today's and total P&L are the server's (GET /api/portfolio: day_pnl_krw, total_pnl_krw and
 * their percentages), moved by what live prices changed since that answer: `live` is `server`
 * re-valued. While nothing moved, the server's figures are shown as they are; after a move,
 * the percentages are taken against the server's bases (day_start_equity_krw and
 * net_deposits_krw). A figure the server did not send shows as unknown (null).
 */
export function pnlSummary(live: Portfolio, server: Portfolio): PnlSummary {
  const moved = sub(dec(live.equity_krw), dec(server.equity_krw));
  const plus = (v: string | undefined) => (decOrNull(v) === null ? null : add(dec(v!), moved));
  const today = plus(server.day_pnl_krw);
  const total = plus(server.total_pnl_krw);
  const pctNow = (serverPct: string | undefined, change: Dec | null, base: string | undefined) =>
    change === null ? null : moved === ZERO ? (serverPct ?? null) : pctOf(change, decOrNull(base));
  return {
    invested: toPlain(sum(live.positions.map((x) => dec(x.market_value_krw)))),
    today: today === null ? null : toPlain(today),
    todayPct: pctNow(server.day_return_pct, today, server.day_start_equity_krw),
    total: total === null ? null : toPlain(total),
    totalPct: pctNow(server.total_return_pct, total, server.net_deposits_krw),
  };
}

/** The equity chart's points: the server's real snapshots only, one per second, oldest first. */
export function equityPoints(history: EquityPoint[]): Array<{ time: number; value: number }> {
  const out: Array<{ time: number; value: number }> = [];
  for (const h of history) {
    const t = parseTime(h.time);
    if (!t) continue;
    const time = Math.floor(t.getTime() / 1000);
    if (out.length && out[out.length - 1].time >= time) out.pop();
    out.push({ time, value: Number(h.equity_krw) });
  }
  return out;
}

/** Whether a ranking row is the signed-in player: by user id, never by nickname (they may repeat). */
export function isMe(row: RankingRow, me: User | null): boolean {
  return !!me && !!row.user_id && row.user_id === me.id;
}

// ---------------------------------------------------------------- markets

export interface MarketStatus {
  market: Market;
  isOpen: boolean;
  nextOpen: string | null;
  nextClose: string | null;
}

/** The feed with a live trade added: newest first, each trade once, at most `limit` kept. */
export function addToFeed(feed: Trade[], trade: Trade, limit: number): Trade[] {
  const rest = feed.filter((t) => t.id !== trade.id);
  const at = timeMs(trade.filled_at);
  const i = rest.findIndex((t) => timeMs(t.filled_at) <= at);
  const merged = i < 0 ? [...rest, trade] : [...rest.slice(0, i), trade, ...rest.slice(i)];
  return merged.slice(0, limit);
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
