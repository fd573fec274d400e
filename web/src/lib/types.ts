/** The shapes of the daemon's HTTP and websocket contract (SPEC section 6). Decimals are strings. */

export type Market = 'KRX' | 'US' | 'CRYPTO';
export type Side = 'BUY' | 'SELL';
export type OrderType = 'MARKET' | 'LIMIT';
export type OrderStatus = 'PENDING' | 'FILLED' | 'CANCELLED' | 'FAILED';

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
  quantity: string;
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
}

export interface Portfolio {
  cash_krw: string;
  positions: Position[];
  equity_krw: string;
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
  costs: 'standard' | 'zero';
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
  quantity: string;
  limit_price?: string;
  client_order_id?: string;
}

export const TERMINAL: ReadonlySet<OrderStatus> = new Set(['FILLED', 'CANCELLED', 'FAILED']);

