/** The daemon's HTTP API: relative URLs, bearer token, errors carrying the server's `detail`. */
import type {
  Candle,
  CandleInterval,
  Costs,
  EquityPoint,
  FxRate,
  Instrument,
  MarketStats,
  MySettings,
  NewOrder,
  Order,
  OrderBook,
  OrderChanges,
  OrderDetail,
  OrderStatus,
  Period,
  Portfolio,
  Profile,
  Quote,
  RankingRow,
  RankPoint,
  Season,
  SeasonDetail,
  Token,
  Trade,
  User,
} from './types';

export class ApiError extends Error {
  /** HTTP status, or 0 when the server could not be reached at all. */
  readonly status: number;
  readonly detail: string;
  constructor(status: number, detail: string) {
    super(detail);
    this.status = status;
    this.detail = detail;
  }
  /** The home server is unreachable: no answer, or the edge proxy answered for it. */
  get unreachable(): boolean {
    return this.status === 0 || this.status === 502 || this.status === 503 || this.status === 504;
  }
}

export interface ApiHooks {
  token(): string | null;
  /** Called on every answer: true when the home server answered, false when it is unreachable. */
  reachable(ok: boolean): void;
  /** A request with a token got 401: the session is over. */
  unauthorized(): void;
}

let hooks: ApiHooks = { token: () => null, reachable: () => {}, unauthorized: () => {} };

export function configureApi(h: ApiHooks): void {
  hooks = h;
}

/** Read a Litestar-style error body: `detail`, plus the messages of `extra` when present. */
export function errorDetail(body: unknown, fallback: string): string {
  if (!body || typeof body !== 'object') return fallback;
  const b = body as { detail?: unknown; extra?: unknown };
  let detail = typeof b.detail === 'string' && b.detail ? b.detail : fallback;
  if (Array.isArray(b.extra)) {
    const msgs = b.extra
      .map((e) => (e && typeof e === 'object' && 'message' in e ? String((e as { message: unknown }).message) : null))
      .filter((m): m is string => !!m);
    if (msgs.length) detail = `${detail}: ${msgs.join('; ')}`;
  }
  return detail;
}

async function request<T>(method: string, path: string, body?: unknown, timeoutMs = 15000): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = hooks.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  // An order POST may be answered by the edge intake: it says nothing about the home server
  // (the GETs and the socket tell that), answered or not.
  const fromHome = !(method === 'POST' && path === '/api/orders');
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), timeoutMs);
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: ctrl.signal });
  } catch {
    if (fromHome) hooks.reachable(false);
    throw new ApiError(0, 'The server could not be reached.');
  } finally {
    clearTimeout(timer);
  }
  let parsed: unknown = null;
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, errorDetail(parsed, res.statusText || `HTTP ${res.status}`));
    if (fromHome) hooks.reachable(!err.unreachable);
    if (res.status === 401 && token) hooks.unauthorized();
    throw err;
  }
  if (fromHome) hooks.reachable(true);
  return parsed as T;
}

/** Trades the feed shows: the newest this many. */
export const FEED_LIMIT = 20;

export const api = {
  signup: (b: { username: string; password: string; nickname: string; invite_code?: string }) =>
    request<User>('POST', '/api/auth/signup', b),
  login: (b: { username: string; password: string }) => request<Token>('POST', '/api/auth/login', b),
  me: () => request<User>('GET', '/api/me'),
  instruments: () => request<Instrument[]>('GET', '/api/instruments'),
  quotes: () => request<Quote[]>('GET', '/api/quotes'),
  quote: (id: string) => request<Quote>('GET', `/api/quotes/${encodeURIComponent(id)}`),
  fx: () => request<FxRate[]>('GET', '/api/fx'),
  candles: (id: string, limit = 300, interval: CandleInterval = '1m', before?: string) =>
    request<Candle[]>(
      'GET',
      `/api/candles/${encodeURIComponent(id)}?interval=${interval}&limit=${limit}${before ? `&before=${encodeURIComponent(before)}` : ''}`,
    ),
  marketStats: () => request<MarketStats[]>('GET', '/api/market-stats'),
  orderbook: (id: string) => request<OrderBook>('GET', `/api/orderbook/${encodeURIComponent(id)}`),
  fills: (id: string, limit = 200) =>
    request<Order[]>('GET', `/api/orders?ticker_id=${encodeURIComponent(id)}&status=FILLED&limit=${limit}`),
  placeOrder: (o: NewOrder) => request<Order>('POST', '/api/orders', o),
  orders: (status?: OrderStatus | 'open', limit = 200) =>
    request<Order[]>('GET', `/api/orders?limit=${limit}${status ? `&status=${status}` : ''}`),
  /** The order with its `fills` and `events` (SPEC 6A). */
  order: (id: string) => request<OrderDetail>('GET', `/api/orders/${encodeURIComponent(id)}`),
  modifyOrder: (id: string, changes: OrderChanges) => request<Order>('PATCH', `/api/orders/${encodeURIComponent(id)}`, changes),
  cancelOrder: (id: string) => request<Order>('DELETE', `/api/orders/${encodeURIComponent(id)}`),
  costs: () => request<Costs>('GET', '/api/costs'),
  portfolio: () => request<Portfolio>('GET', '/api/portfolio'),
  history: (days = 30) => request<EquityPoint[]>('GET', `/api/portfolio/history?days=${days}`),
  rankings: (period: Period = 'all', season?: string) =>
    request<RankingRow[]>('GET', `/api/rankings?period=${period}${season ? `&season=${encodeURIComponent(season)}` : ''}`),
  rankHistory: (userId: string, period: Period) =>
    request<RankPoint[]>('GET', `/api/rankings/history?user_id=${encodeURIComponent(userId)}&period=${period}`),
  seasons: () => request<Season[]>('GET', '/api/seasons'),
  season: (id: string) => request<SeasonDetail>('GET', `/api/seasons/${encodeURIComponent(id)}`),
  mySeasons: () => request<string[]>('GET', '/api/me/seasons'),
  joinSeason: (id: string) => request<{ season_id: string; joined: boolean; detail: string }>('POST', `/api/seasons/${encodeURIComponent(id)}/join`),
  profile: (id: string) => request<Profile>('GET', `/api/users/${encodeURIComponent(id)}`),
  feed: () => request<Trade[]>('GET', `/api/feed?limit=${FEED_LIMIT}`),
  settings: () => request<MySettings>('GET', '/api/me/settings'),
  saveSettings: (b: { share_trades?: boolean; nickname?: string }) => request<MySettings>('PATCH', '/api/me/settings', b),
  /**
   * Whether the home server answers. Asks a home route (/api/fx), not /healthz: behind the
   * edge, /healthz is answered by the edge's own web server even while home is down.
   */
  homeAnswers: async (): Promise<boolean> => {
    try {
      const r = await fetch('/api/fx', { cache: 'no-store', headers: { Accept: 'application/json' } });
      return r.ok;
    } catch {
      return false;
    }
  },
  /**
   * Whether an order intake answers POST /api/orders while home is unreachable (the edge):
   * an empty body is refused with 400 and a JSON detail by a live intake, and nothing is
   * recorded. No answer, or a proxy's 502/503/504, means orders cannot be placed now.
   */
  orderIntakeAnswers: async (): Promise<boolean> => {
    const token = hooks.token();
    try {
      const r = await fetch('/api/orders', {
        method: 'POST',
        cache: 'no-store',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body: '{}',
      });
      if (r.status !== 400) return false;
      const body: unknown = await r.json().catch(() => null);
      return !!body && typeof body === 'object' && 'detail' in body;
    } catch {
      return false;
    }
  },
};

/** A client order id, so a retried POST cannot create a second order. */
export function newClientOrderId(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  const b = new Uint8Array(16);
  c.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
