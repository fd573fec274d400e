/** The shapes of the daemon's HTTP and websocket contract (SPEC sections 6 and 6A). Decimals are strings. */

export type Market = 'KRX' | 'US' | 'CRYPTO';
export type Side = 'BUY' | 'SELL';
export type OrderType = 'MARKET' | 'LIMIT' | 'STOP' | 'STOP_LIMIT' | 'TRAILING_STOP';
export type TimeInForce = 'DAY' | 'GTC' | 'IOC' | 'FOK' | 'OPG';
export type OrderStatus = 'PENDING' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELLED' | 'FAILED';
/** What happened to an order (SPEC 6A `events[].kind`); expiry is `cancelled` with reason `expired`. */
export type OrderEventKind = 'accepted' | 'modified' | 'rested' | 'triggered' | 'partially_filled' | 'filled' | 'cancelled' | 'failed';

export interface User {
  id: string;
  username: string;
  nickname: string;
  role: string;
}

export interface Token {
  access_token: string;
  token_type: string;
  expires_in: number;
}

export interface Instrument {
  ticker_id: string;
  name: string;
  name_ko: string | null;
  market: Market;
  currency: string;
  exchange: string;
  is_open: boolean;
  next_open: string | null;
  next_close: string | null;
}

export interface Quote {
  ticker_id: string;
  price: string;
  bid: string | null;
  ask: string | null;
  currency: string;
  ts: string;
  stale: boolean;
  prev_close: string | null;
  change_pct: string | null;
}

export interface FxRate {
  pair: string;
  rate: string;
  ts: string;
  stale?: boolean;
}

export interface Candle {
  time: string;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
}

/** One level of a displayed order book (GET /api/orderbook, websocket `book`). */
export interface BookLevel {
  price: string;
  size: string;
}

export interface OrderBook {
  ticker_id: string;
  bids: BookLevel[]; // best first
  asks: BookLevel[]; // best first
  ts: string | null; // null (and no levels) while no book is known
  received_at: string | null;
  source: string | null;
  stale: boolean;
}

/** GET /api/market-stats: an instrument's volume and traded value over its latest day. */
export interface MarketStats {
  ticker_id: string;
  day: string;
  volume: string;
  traded_value: string; // in the asset's currency
}

export type CandleInterval = '1m' | '5m' | '15m' | '1h' | '1d' | '1w';

export interface Order {
  id: string;
  client_order_id: string | null;
  ticker_id: string;
  side: Side;
  type: OrderType;
  status: OrderStatus;
  /** Null for an amount_krw order until it fills (then the filled quantity). */
  quantity: string | null;
  limit_price: string | null;
  price: string | null;
  currency: string;
  applied_exchange_rate: string | null;
  total_krw: string | null;
  fee_krw: string | null;
  reason: string | null;
  reason_text: string | null;
  created_at: string;
  filled_at: string | null;
  // SPEC 6A (absent from an older server).
  time_in_force?: TimeInForce;
  amount_krw?: string | null;
  /** For a TRAILING_STOP: the current computed stop, moving with trail_mark. */
  stop_price?: string | null;
  trail_percent?: string | null;
  trail_amount?: string | null;
  trail_mark?: string | null;
  filled_quantity?: string;
  average_price?: string | null;
  reserved_krw?: string | null;
  triggered_at?: string | null;
  expires_at?: string | null;
  fees?: FeeLine[];
  /** On a websocket `order` event: the event that caused this message. */
  event?: OrderEventNote;
}

export interface FeeLine {
  kind: string;
  amount_krw: string;
}

export interface OrderEventNote {
  kind: OrderEventKind;
  at: string;
  reason: string | null;
  reason_text: string | null;
}

export interface OrderEvent extends OrderEventNote {
  seq: number;
  /** For `modified`: the old and new values, e.g. {"limit_price": {"from": "70000", "to": "70100"}}. */
  detail: Record<string, unknown> | null;
}

export interface FillQuote {
  price: string | null;
  bid: string | null;
  ask: string | null;
  source: string | null;
  ts: string | null;
  received_at: string | null;
  age_seconds: string | number | null;
}

export interface Fill {
  seq: number;
  quantity: string;
  price: string;
  rate: string;
  total_krw: string;
  fee_krw: string;
  fees: FeeLine[];
  /** Which rule priced it: daemon/engine/triggers.py FILL_RULES. */
  rule: string;
  at: string;
  levels: Array<{ price: string; size: string }> | null;
  quote: FillQuote | null;
}

/** GET /api/orders/{id}: the order with its receipts. */
export interface OrderDetail extends Order {
  fills: Fill[];
  events: OrderEvent[];
}

/** PATCH /api/orders/{id}: only the fields the order's type has. */
export interface OrderChanges {
  quantity?: string;
  limit_price?: string;
  stop_price?: string;
  trail_percent?: string;
  trail_amount?: string;
}

/** One row of GET /api/costs. Both spellings of a per-share rule are read (see state/ticket.ts). */
export interface CostRule {
  market: Market;
  kind: string;
  side: Side;
  rate?: string | null;
  per_share?: string | null;
  max_per_trade?: string | null;
  basis?: 'value' | 'per_share';
  cap?: string | null;
  instrument_kinds?: string[] | null;
  currency?: string;
  effective_from: string;
  source?: string;
}

export interface Costs {
  preset: string;
  rules: CostRule[];
  slippage_reserve: string;
  fx_reserve: string;
}

export interface Position {
  ticker_id: string;
  quantity: string;
  average_price: string;
  currency: string;
  last_price: string | null;
  fx_rate: string | null;
  market_value_krw: string;
  unrealized_pnl_krw: string;
  /** SPEC 6A: held by open SELL orders (absent from an older server). */
  reserved_quantity?: string;
  available_quantity?: string;
}

export interface Portfolio {
  cash_krw: string;
  positions: Position[];
  equity_krw: string;
  /** SPEC 6A: cash held by open BUY orders, and what is left to spend (absent from an older server). */
  reserved_cash_krw?: string;
  available_cash_krw?: string;
  /** The server's P&L figures (issue 10 contract); absent from an older server. */
  day_start_equity_krw?: string;
  day_pnl_krw?: string;
  day_return_pct?: string;
  net_deposits_krw?: string;
  total_pnl_krw?: string;
  total_return_pct?: string;
}

export interface EquityPoint {
  time: string;
  equity_krw: string;
}

export type Period = 'day' | 'week' | 'month' | 'season' | 'all';

export interface RankingRow {
  rank: number;
  /** null for a benchmark; absent from an older server: then nobody is marked as "me". */
  user_id?: string | null;
  nickname: string;
  equity_krw: string;
  return_pct: string;
  /** Places gained since the previous period's end; null: not ranked then. */
  rank_change?: number | null;
  max_drawdown_pct?: string;
  volatility_pct?: string | null;
  sharpe?: string | null;
  trades?: number;
  benchmark?: boolean;
}

export interface RankPoint {
  time: string;
  rank: number;
  equity_krw: string;
  return_pct: string;
}

export interface Season {
  id: string;
  name: string;
  starts_at: string;
  ends_at: string;
  initial_cash_krw: string;
  markets: Market[];
  costs: 'kr-broker-2026' | 'none';
  resets_allowed: number;
  late_join: boolean;
  max_position_pct: string | null;
  portfolio_visibility: 'private' | 'after_end' | 'live' | 'delayed_15m';
  status: 'scheduled' | 'running' | 'ended';
  started_at: string | null;
  ended_at: string | null;
  participants: number;
}

export interface SeasonDetail {
  season: Season;
  standings: RankingRow[];
}

export interface Trade {
  id: string;
  user_id: string;
  nickname: string;
  ticker_id: string;
  side: Side;
  type: OrderType;
  quantity: string;
  price: string;
  currency: string;
  total_krw: string;
  filled_at: string;
}

export interface Profile {
  user_id: string;
  nickname: string;
  badges: Array<{ badge: string; awarded_at: string; season_id: string | null }>;
  season: RankingRow | null;
  hall_of_fame: Array<{ season_id: string; name: string; rank: number; players: number; return_pct: string; equity_krw: string }>;
  holdings_visible: boolean;
  holdings: Array<{ ticker_id: string; quantity: string; market_value_krw: string }>;
  trades_visible: boolean;
  recent_trades: Trade[];
}

export interface MySettings {
  id: string;
  username: string;
  nickname: string;
  role: 'ADMIN' | 'USER';
  share_trades: boolean;
}

export interface NewOrder {
  ticker_id: string;
  side: Side;
  type: OrderType;
  quantity?: string;
  amount_krw?: string;
  limit_price?: string;
  stop_price?: string;
  trail_percent?: string;
  trail_amount?: string;
  time_in_force?: TimeInForce;
  client_order_id?: string;
}

export const TERMINAL: ReadonlySet<OrderStatus> = new Set(['FILLED', 'CANCELLED', 'FAILED']);
/** Open orders can be modified and cancelled (GET /api/orders?status=open). */
export const OPEN: ReadonlySet<OrderStatus> = new Set(['PENDING', 'PARTIALLY_FILLED']);

