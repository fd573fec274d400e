/**
 * The order ticket's pure rules (SPEC 6A): which fields and times in force each order type
 * takes, the exchange rules the server checks at the door (lots, ticks, KRX ±30 %, Upbit's
 * minimum) as hints, the estimate with the server's cost rules (GET /api/costs), the amount
 * an open order will hold, and the ticket's status from the order's events. No I/O here; the
 * server decides, and its 400 detail is always what the player sees.
 */
import { type Dec, ONE, ZERO, add, dec, decOrNull, div, mul, sub, sum, toPlain, truncate } from '../lib/decimal';
import type { CostRule, Costs, Market, Order, OrderChanges, OrderEventKind, OrderType, Quote, Side, TimeInForce } from '../lib/types';

// ---------------------------------------------------------------- types and fields

export const ORDER_TYPES: readonly OrderType[] = ['MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP'];

/** Which price fields an order type takes (SPEC 6A request table). */
export function fieldsOf(type: OrderType): { limit: boolean; stop: boolean; trail: boolean } {
  return {
    limit: type === 'LIMIT' || type === 'STOP_LIMIT',
    stop: type === 'STOP' || type === 'STOP_LIMIT',
    trail: type === 'TRAILING_STOP',
  };
}

/**
 * The fields a PATCH of `o` may carry (only those its type has), with their current values: the
 * quantity (not of an amount order), the stop and limit, and the trail it was placed with.
 */
export function modifiableFields(o: Order): Array<[keyof OrderChanges, string]> {
  const f = fieldsOf(o.type);
  const out: Array<[keyof OrderChanges, string]> = [];
  if (o.quantity !== null && !o.amount_krw) out.push(['quantity', o.quantity]);
  if (f.stop) out.push(['stop_price', o.stop_price ?? '']);
  if (f.limit) out.push(['limit_price', o.limit_price ?? '']);
  if (f.trail) out.push(o.trail_amount ? ['trail_amount', o.trail_amount] : ['trail_percent', o.trail_percent ?? '']);
  return out;
}

/** Types that wait for a trigger. */
export function isStopType(type: OrderType): boolean {
  return type === 'STOP' || type === 'STOP_LIMIT' || type === 'TRAILING_STOP';
}

export const DEFAULT_TIME_IN_FORCE: Record<Market, TimeInForce> = { KRX: 'DAY', US: 'DAY', CRYPTO: 'GTC' };

/**
 * The times in force the server accepts for `type` on `market`: crypto GTC/IOC/FOK, stocks all
 * five; IOC, FOK and OPG execute at one instant, so stops take DAY or GTC only (docs/engine.md).
 */
export function timeInForceChoices(market: Market, type: OrderType): TimeInForce[] {
  const offered: TimeInForce[] = market === 'CRYPTO' ? ['GTC', 'IOC', 'FOK'] : ['DAY', 'GTC', 'IOC', 'FOK', 'OPG'];
  return isStopType(type) ? offered.filter((t) => t === 'DAY' || t === 'GTC') : offered;
}

/** The time in force to send: the player's choice while the type allows it, else the market's default. */
export function effectiveTimeInForce(market: Market, type: OrderType, chosen: TimeInForce | null): TimeInForce {
  const choices = timeInForceChoices(market, type);
  return chosen !== null && choices.includes(chosen) ? chosen : DEFAULT_TIME_IN_FORCE[market];
}

/** "금액으로 주문": amount_krw instead of quantity, for a MARKET BUY only. */
export function canOrderByAmount(type: OrderType, side: Side): boolean {
  return type === 'MARKET' && side === 'BUY';
}

/** The instrument kind in a ticker id: "KRX-ETF-069500" → "ETF". */
export function instrumentKind(tickerId: string): string {
  return tickerId.split('-')[1] ?? 'STOCK';
}

// ---------------------------------------------------------------- exchange rules (hints)

type Band = readonly [from: string, tick: string];

/** The tick tables in force (daemon/engine/ticks.py), lowest band first. */
const TICKS: Record<string, readonly Band[]> = {
  'KRX-STOCK': [['0', '1'], ['2000', '5'], ['5000', '10'], ['20000', '50'], ['50000', '100'], ['200000', '500'], ['500000', '1000']],
  'KRX-ETF': [['0', '5']],
  US: [['0', '0.0001'], ['1', '0.01']],
  // Upbit KRW market from 2025-07-31 (below 100 KRW, the 2024 steps).
  CRYPTO: [
    ['0', '0.00000001'], ['0.0001', '0.0000001'], ['0.001', '0.000001'], ['0.01', '0.00001'], ['0.1', '0.0001'],
    ['1', '0.001'], ['10', '0.01'], ['100', '1'], ['5000', '5'], ['10000', '10'], ['50000', '50'],
    ['100000', '100'], ['500000', '500'], ['1000000', '1000'],
  ],
};

function bandsFor(market: Market, kind: string): readonly Band[] {
  return market === 'KRX' ? TICKS[kind === 'ETF' ? 'KRX-ETF' : 'KRX-STOCK'] : TICKS[market];
}

export function tickAt(market: Market, kind: string, price: Dec): Dec {
  let tick = dec(bandsFor(market, kind)[0][1]);
  for (const [from, step] of bandsFor(market, kind)) {
    if (price < dec(from)) break;
    tick = dec(step);
  }
  return tick;
}

export interface StepHint {
  step: Dec;
  /** The valid values nearest below (null when none is positive) and above. */
  below: Dec | null;
  above: Dec;
}

function nearest(value: Dec, step: Dec): StepHint | null {
  const r = value % step;
  if (r === ZERO) return null;
  const below = value - r;
  return { step, below: below > ZERO ? below : null, above: below + step };
}

/** `price` moved onto its tick, down or up (unchanged when on one). */
export function onTick(market: Market, kind: string, price: Dec, way: 'down' | 'up'): Dec {
  const h = tickHint(market, kind, price);
  if (h === null) return price;
  return way === 'up' || h.below === null ? h.above : h.below;
}

/** A price off its tick: the tick and the two nearest valid prices; null when on a tick. */
export function tickHint(market: Market, kind: string, price: Dec): StepHint | null {
  return price > ZERO ? nearest(price, tickAt(market, kind, price)) : null;
}

/** The quantity step: KRX whole shares; US whole shares except MARKET (8 places); crypto 8 places. */
export function lotStep(market: Market, type: OrderType): Dec {
  if (market === 'KRX' || (market === 'US' && type !== 'MARKET')) return ONE;
  return 1n; // 1e-8, the smallest Dec
}

export function lotHint(market: Market, type: OrderType, quantity: Dec): StepHint | null {
  return quantity > ZERO ? nearest(quantity, lotStep(market, type)) : null;
}

/** KRX's daily limits around the previous close (daemon/engine/exchange_rules.py krx_price_limits). */
export function krxPriceLimits(kind: string, base: Dec): { lower: Dec; upper: Dec } {
  const baseTick = tickAt('KRX', kind, base);
  const change = truncate(div(mul(base, dec('0.3')), baseTick), 0);
  const move = mul(change, baseTick);
  const lowRaw = sub(base, move);
  const highRaw = add(base, move);
  const lowTick = tickAt('KRX', kind, lowRaw);
  const highTick = tickAt('KRX', kind, highRaw);
  const lower = lowRaw % lowTick === ZERO ? lowRaw : lowRaw - (lowRaw % lowTick) + lowTick;
  return { lower, upper: highRaw - (highRaw % highTick) };
}

export const UPBIT_MIN_ORDER_KRW = dec(5000);

// ---------------------------------------------------------------- costs

/**
 * The kr-broker-2026 rates in force (daemon/engine/costs.py), used only while GET /api/costs
 * has not answered (an older server, or offline): the estimate is labelled as such.
 */
export const FALLBACK_COSTS: Costs = {
  preset: 'kr-broker-2026',
  slippage_reserve: '0.05',
  fx_reserve: '0.02',
  rules: [
    ...(['BUY', 'SELL'] as const).flatMap((side) => [
      { market: 'KRX' as const, kind: 'commission', side, rate: '0.00015', effective_from: '2000-01-01' },
      { market: 'US' as const, kind: 'commission', side, rate: '0.0025', effective_from: '2000-01-01' },
      { market: 'CRYPTO' as const, kind: 'commission', side, rate: '0.0005', effective_from: '2000-01-01' },
    ]),
    { market: 'KRX', kind: 'transaction_tax', side: 'SELL', rate: '0.0020', effective_from: '2026-01-01', instrument_kinds: ['STOCK'] },
    { market: 'US', kind: 'sec_fee', side: 'SELL', rate: '0.0000206', effective_from: '2026-04-04' },
    { market: 'US', kind: 'finra_taf', side: 'SELL', basis: 'per_share', rate: '0.000195', cap: '9.79', effective_from: '2026-01-01' },
  ],
};

const MARKET_ZONE: Record<Market, string> = { KRX: 'Asia/Seoul', US: 'America/New_York', CRYPTO: 'Asia/Seoul' };

/** The exchange's own calendar date of an instant, "YYYY-MM-DD": which day's rates apply. */
export function tradeDate(market: Market, at: Date): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: MARKET_ZONE[market], year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

function perShare(rule: CostRule): { rate: Dec; cap: Dec | null } | null {
  const rate = decOrNull(rule.per_share) ?? (rule.basis === 'per_share' ? decOrNull(rule.rate) : null);
  return rate === null ? null : { rate, cap: decOrNull(rule.max_per_trade) ?? decOrNull(rule.cap) };
}

/** The rules in force for one trade: per fee kind, the latest row on or before the trade date. */
export function rulesInForce(costs: Costs, market: Market, kind: string, side: Side, on: string): CostRule[] {
  const latest = new Map<string, CostRule>();
  for (const r of costs.rules) {
    if (r.market !== market || r.side !== side || r.effective_from > on) continue;
    const cur = latest.get(r.kind);
    if (!cur || r.effective_from >= cur.effective_from) latest.set(r.kind, r);
  }
  return [...latest.values()].filter((r) => !r.instrument_kinds || r.instrument_kinds.includes(kind));
}

export interface FeeEstimate {
  kind: string;
  amount: Dec;
}

/** Fee lines of a trade worth `valueKrw` of `quantity` units at `fx` KRW per currency unit. */
export function feesFor(rules: CostRule[], valueKrw: Dec, quantity: Dec, fx: Dec): FeeEstimate[] {
  return rules.map((r) => {
    const ps = perShare(r);
    if (ps === null) return { kind: r.kind, amount: mul(valueKrw, decOrNull(r.rate) ?? ZERO) };
    let perTrade = mul(quantity, ps.rate);
    if (ps.cap !== null && perTrade > ps.cap) perTrade = ps.cap;
    return { kind: r.kind, amount: mul(perTrade, fx) };
  });
}

/** The fraction of value charged on a trade (per-share fees left out): for "what fits in this amount". */
export function valueRate(rules: CostRule[]): Dec {
  return sum(rules.filter((r) => perShare(r) === null).map((r) => decOrNull(r.rate) ?? ZERO));
}

// ---------------------------------------------------------------- estimate

export interface TicketInput {
  market: Market;
  kind: string;
  side: Side;
  type: OrderType;
  timeInForce: TimeInForce;
  /** The quantity typed, or null when ordering by amount or not yet valid. */
  quantity: Dec | null;
  /** The amount for a MARKET BUY by amount_krw. */
  amountKrw: Dec | null;
  limitPrice: Dec | null;
  stopPrice: Dec | null;
  trailPercent: Dec | null;
  trailAmount: Dec | null;
  quote: Quote | undefined;
  currency: string;
  usdKrw: string | null;
  /** available_cash_krw (cash less what open orders hold). */
  availableCashKrw: string | null;
  /** available_quantity of the position (held less what open sells hold). */
  availableQuantity: string | null;
  isOpen: boolean;
  costs: Costs;
  now: Date;
}

export type TicketWarning = 'cash' | 'holding' | 'closed' | 'stale';

export interface TicketEstimate {
  /** The price per unit (asset currency) the estimate uses. */
  price: Dec | null;
  /** For a trailing stop: where the stop sits now, from the last price. */
  trailStop: Dec | null;
  fx: Dec | null;
  /** The quantity estimated: the typed one, or what an amount buys. */
  quantity: Dec | null;
  valueKrw: Dec | null;
  fees: FeeEstimate[];
  feeKrw: Dec | null;
  /** What a buy costs (value + fees) or a sell brings in (value − fees), in KRW. */
  totalKrw: Dec | null;
  /** What an open BUY holds of the cash (worst case), or null. */
  reserveKrw: Dec | null;
  warnings: TicketWarning[];
}

/** A trailing stop's stop from the last price: SELL below (− amount or × (1 − %)), BUY above. */
export function trailingStop(side: Side, last: Dec, percent: Dec | null, amount: Dec | null): Dec | null {
  const sign = side === 'SELL' ? -1n : 1n;
  if (amount !== null && amount > ZERO) return add(last, sign * amount);
  if (percent !== null && percent > ZERO) return mul(last, add(ONE, div(sign * percent, dec(100))));
  return null;
}

function quotePrice(q: Quote | undefined, side: Side): Dec | null {
  if (!q) return null;
  return decOrNull(side === 'BUY' ? q.ask : q.bid) ?? decOrNull(q.price);
}

/** The most units of `step` whose cost with fees (value rate `rate`) fits `budgetKrw`. */
export function affordable(budgetKrw: Dec, price: Dec, fx: Dec, rate: Dec, step: Dec): Dec {
  const unitCost = mul(mul(price, fx), add(ONE, rate));
  if (unitCost <= ZERO) return ZERO;
  const raw = (budgetKrw * ONE) / unitCost;
  return raw - (raw % step);
}

/** Round up to 8 places (as the server rounds a reservation). */
function ceil8(numerator: bigint, denominator: bigint): Dec {
  return (numerator + denominator - 1n) / denominator;
}

/**
 * The ticket's preview. The price: MARKET at the ask (BUY) or bid (SELL), falling back to the
 * last; LIMIT and STOP_LIMIT at the limit; STOP at the stop; TRAILING_STOP at the stop it would
 * have now. Fees from the server's rules. An open BUY holds its worst case (SPEC 6A): limit or
 * stop × quantity, market-type orders with the slippage allowance on top, USD also with the FX
 * allowance, plus the buy fees; by amount it holds the amount.
 */
export function estimate(t: TicketInput): TicketEstimate {
  const f = fieldsOf(t.type);
  const last = t.quote ? decOrNull(t.quote.price) : null;
  const rawStop = f.trail && last !== null ? trailingStop(t.side, last, t.trailPercent, t.trailAmount) : null;
  // The server puts the stop on the tick away from the mark (SELL down, BUY up: docs/engine.md).
  const trailStop = rawStop === null || rawStop <= ZERO ? null : onTick(t.market, t.kind, rawStop, t.side === 'SELL' ? 'down' : 'up');
  const price = f.limit ? t.limitPrice : f.stop ? t.stopPrice : f.trail ? trailStop : quotePrice(t.quote, t.side);
  const fx = t.currency === 'USD' ? decOrNull(t.usdKrw) : ONE;
  const rules = rulesInForce(t.costs, t.market, t.kind, t.side, tradeDate(t.market, t.now));
  const byAmount = canOrderByAmount(t.type, t.side) && t.amountKrw !== null;
  let quantity = t.quantity;
  if (byAmount) {
    quantity = price !== null && fx !== null ? affordable(t.amountKrw!, price, fx, valueRate(rules), lotStep(t.market, t.type)) : null;
  }
  const valueKrw = price !== null && fx !== null && quantity !== null ? mul(mul(quantity, price), fx) : null;
  const fees = valueKrw === null || quantity === null || fx === null ? [] : feesFor(rules, valueKrw, quantity, fx);
  const feeKrw = valueKrw === null ? null : sum(fees.map((x) => x.amount));
  const totalKrw = valueKrw === null || feeKrw === null ? null : t.side === 'BUY' ? add(valueKrw, feeKrw) : sub(valueKrw, feeKrw);

  let reserveKrw: Dec | null = null;
  if (t.side === 'BUY' && byAmount) reserveKrw = t.amountKrw;
  else if (t.side === 'BUY' && valueKrw !== null && fx !== null && quantity !== null) {
    const slip = f.limit ? ZERO : dec(t.costs.slippage_reserve);
    const fxMargin = t.currency === 'USD' ? dec(t.costs.fx_reserve) : ZERO;
    // Exact to 8 places, rounded up: value × (1 + slippage) × (1 + FX margin).
    const held = ceil8(valueKrw * (ONE + slip) * (ONE + fxMargin), ONE * ONE);
    reserveKrw = add(held, sum(feesFor(rules, held, quantity, fx).map((x) => x.amount)));
  }

  const warnings: TicketWarning[] = [];
  const needed = reserveKrw ?? totalKrw;
  const cash = decOrNull(t.availableCashKrw);
  if (t.side === 'BUY' && needed !== null && cash !== null && needed > cash) warnings.push('cash');
  if (t.side === 'SELL' && quantity !== null && quantity > (decOrNull(t.availableQuantity) ?? ZERO)) warnings.push('holding');
  if (!t.isOpen && t.type === 'MARKET' && t.timeInForce !== 'OPG') warnings.push('closed');
  if (t.quote?.stale && t.isOpen) warnings.push('stale');
  return { price, trailStop, fx, quantity, valueKrw, fees, feeKrw, totalKrw, reserveKrw, warnings };
}

// ---------------------------------------------------------------- hints (the server decides)

export type Hint =
  | { key: 'lot'; field: 'quantity'; hint: StepHint }
  | { key: 'tick'; field: 'limit_price' | 'stop_price'; hint: StepHint }
  | { key: 'priceLimits'; field: 'limit_price' | 'stop_price'; lower: Dec; upper: Dec }
  | { key: 'minimum'; field: 'quantity'; valueKrw: Dec }
  | { key: 'amountTooSmall'; field: 'amount_krw' }
  | { key: 'trailPercent'; field: 'trail_percent' };

/**
 * What the server's door will likely refuse, as hints next to the fields: never a block (the
 * server's own detail is shown if it refuses).
 */
export function ticketHints(t: TicketInput, est: TicketEstimate): Hint[] {
  const hints: Hint[] = [];
  const f = fieldsOf(t.type);
  if (t.quantity !== null && !(canOrderByAmount(t.type, t.side) && t.amountKrw !== null)) {
    const lot = lotHint(t.market, t.type, t.quantity);
    if (lot) hints.push({ key: 'lot', field: 'quantity', hint: lot });
  }
  const prevClose = decOrNull(t.quote?.prev_close);
  for (const [field, on, value] of [
    ['limit_price', f.limit, t.limitPrice],
    ['stop_price', f.stop, t.stopPrice],
  ] as const) {
    if (!on || value === null || value <= ZERO) continue;
    const tick = tickHint(t.market, t.kind, value);
    if (tick) hints.push({ key: 'tick', field, hint: tick });
    if (t.market === 'KRX' && prevClose !== null && prevClose > ZERO) {
      const lim = krxPriceLimits(t.kind, prevClose);
      if (value < lim.lower || value > lim.upper) hints.push({ key: 'priceLimits', field, ...lim });
    }
  }
  if (f.trail && t.trailPercent !== null && !(t.trailPercent > ZERO && t.trailPercent < dec(100))) {
    hints.push({ key: 'trailPercent', field: 'trail_percent' });
  }
  if (t.market === 'CRYPTO' && est.valueKrw !== null && est.valueKrw > ZERO && est.valueKrw < UPBIT_MIN_ORDER_KRW) {
    hints.push({ key: 'minimum', field: 'quantity', valueKrw: est.valueKrw });
  }
  if (canOrderByAmount(t.type, t.side) && t.amountKrw !== null && est.quantity !== null && est.quantity === ZERO) {
    hints.push({ key: 'amountTooSmall', field: 'amount_krw' });
  }
  return hints;
}

export function formatStep(h: StepHint): { below: string; above: string; step: string } {
  return { below: h.below === null ? '' : toPlain(h.below), above: toPlain(h.above), step: toPlain(h.step) };
}

// ---------------------------------------------------------------- the ticket's status

/** Where the order the ticket sent stands, as the player reads it. */
export type TicketPhase = 'accepted' | 'rested' | 'triggered' | 'partial' | 'filled' | 'cancelled' | 'expired' | 'failed';

const RANK: Record<TicketPhase, number> = { accepted: 0, rested: 1, triggered: 2, partial: 3, filled: 4, cancelled: 4, expired: 4, failed: 4 };

export function isFinalPhase(p: TicketPhase): boolean {
  return RANK[p] === 4;
}

function phaseOfEvent(kind: OrderEventKind, reason: string | null): TicketPhase | null {
  switch (kind) {
    case 'accepted':
      return 'accepted';
    case 'rested':
      return 'rested';
    case 'triggered':
      return 'triggered';
    case 'partially_filled':
      return 'partial';
    case 'filled':
      return 'filled';
    case 'cancelled':
      return reason === 'expired' ? 'expired' : 'cancelled';
    case 'failed':
      return 'failed';
    default:
      return null; // modified: the order stays where it was
  }
}

function phaseOfStatus(o: Order): TicketPhase {
  switch (o.status) {
    case 'FILLED':
      return 'filled';
    case 'FAILED':
      return 'failed';
    case 'CANCELLED':
      return o.reason === 'expired' ? 'expired' : 'cancelled';
    case 'PARTIALLY_FILLED':
      return 'partial';
    default:
      return o.triggered_at ? 'triggered' : 'accepted';
  }
}

/**
 * The next phase after `prev`, from the order as it is now and the event that came with it:
 * phases only move forward (a late 202 or an out-of-order event never takes the ticket back),
 * and a final one stays; the order's own status settles a final phase the events missed.
 */
export function nextPhase(prev: TicketPhase | null, o: Order, event?: { kind: OrderEventKind; reason: string | null } | null): TicketPhase {
  if (prev !== null && isFinalPhase(prev)) return prev;
  const fromStatus = phaseOfStatus(o);
  if (isFinalPhase(fromStatus)) return fromStatus;
  let best: TicketPhase = prev ?? fromStatus;
  for (const p of [fromStatus, event ? phaseOfEvent(event.kind, event.reason) : null]) {
    if (p !== null && RANK[p] > RANK[best]) best = p;
  }
  return best;
}

/** Fold an order's whole event list (GET /api/orders/{id}) into a phase. */
export function phaseFromEvents(prev: TicketPhase | null, o: Order, events: ReadonlyArray<{ kind: OrderEventKind; reason: string | null }>): TicketPhase {
  let p = prev;
  for (const e of events) p = nextPhase(p, o, e);
  return nextPhase(p, o);
}

// ---------------------------------------------------------------- the order book's price clicks

/** The event the order-book panel dispatches on `window` when a price is clicked. */
export const PRICE_EVENT = 'papertrade:price';

/**
 * Listen on `target` for clicked prices of `tickerId` (other tickers' clicks are ignored);
 * returns the unsubscribe function.
 */
export function listenForPrice(target: EventTarget, tickerId: string, onPrice: (price: string) => void): () => void {
  const handler = (e: Event) => {
    const detail = (e as CustomEvent<{ ticker_id?: unknown; price?: unknown }>).detail;
    if (!detail || detail.ticker_id !== tickerId) return;
    const p = typeof detail.price === 'number' ? String(detail.price) : detail.price;
    if (typeof p === 'string' && decOrNull(p) !== null && dec(p) > ZERO) onPrice(toPlain(dec(p)));
  };
  target.addEventListener(PRICE_EVENT, handler);
  return () => target.removeEventListener(PRICE_EVENT, handler);
}

/**
 * Where a clicked price goes: into the limit field of a type that has one, the stop field of a
 * STOP; a MARKET (or trailing) ticket becomes a LIMIT at that price.
 */
export function clickedPriceTarget(type: OrderType): { type: OrderType; field: 'limit' | 'stop' } {
  if (fieldsOf(type).limit) return { type, field: 'limit' };
  if (type === 'STOP') return { type, field: 'stop' };
  return { type: 'LIMIT', field: 'limit' };
}
