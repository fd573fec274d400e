/**
 * What the app does: session start/stop, loading data, the websocket's messages,
 * placing and cancelling orders, toasts, and the home-server reachability state.
 */
import { ApiError, api, configureApi } from '../lib/api';
import { sendWithRetries } from '../lib/submit';
import { type Lang, price as fmtPrice, qty as fmtQty } from '../lib/format';
import { type Key, errorMessage, reasonText, translate } from '../lib/i18n';
import { navigate } from '../lib/router';
import { LiveSocket, defaultSocketUrl } from '../lib/socket';
import type { Message } from '../lib/messages';
import {
  type Candle,
  type FxRate,
  type Instrument,
  type NewOrder,
  type Order,
  type OrderBook,
  type OrderChanges,
  type OrderDetail,
  type Portfolio,
  type Quote,
  type Trade,
  TERMINAL,
} from '../lib/types';
import { applyQuotes, fresherFx, isSettlement, mergeOrders, upsertOrder } from './logic';
import { nextPhase, phaseFromEvents } from './ticket';
import { type State, type Theme, type Toast, getState, setState } from './store';

const t = (key: Key, vars?: Record<string, string | number>) => translate(getState().lang, key, vars);

function save(key: string, value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    /* private mode: settings just are not remembered */
  }
}

// ---------------------------------------------------------------- settings

export function setLang(lang: Lang): void {
  save('pt.lang', lang);
  document.documentElement.lang = lang;
  setState({ lang });
}

export function setTheme(theme: Theme): void {
  save('pt.theme', theme);
  document.documentElement.dataset.theme = theme;
  setState({ theme });
}

// ---------------------------------------------------------------- toasts

let toastSeq = 0;

export function toast(kind: Toast['kind'], text: string, ms = 6000): void {
  const id = ++toastSeq;
  setState((s) => ({ toasts: [...s.toasts.slice(-3), { id, kind, text }] }));
  setTimeout(() => dismissToast(id), ms);
}

export function dismissToast(id: number): void {
  setState((s) => ({ toasts: s.toasts.filter((x) => x.id !== id) }));
}

export function instrumentName(s: State, tickerId: string): string {
  const i = s.instrumentsById[tickerId];
  if (!i) return tickerId;
  return s.lang === 'ko' ? i.name_ko || i.name : i.name;
}

function announce(o: Order): void {
  const s = getState();
  const name = instrumentName(s, o.ticker_id);
  const side = t(o.side === 'BUY' ? 'common.buy' : 'common.sell');
  const q = fmtQty(o.quantity);
  if (o.status === 'FILLED') {
    toast('success', t('toast.filled', { name, qty: q, side, price: fmtPrice(o.price, o.currency, s.lang) }));
  } else if (o.status === 'FAILED') {
    toast('error', t('toast.failed', { name, reason: reasonText(s.lang, o.reason, o.reason_text) ?? '' }), 10000);
  } else if (o.status === 'CANCELLED' && o.reason !== 'user_cancelled') {
    toast('info', t('toast.cancelled', { name, qty: q, side }));
  }
}

/**
 * Take in one order, from any source (a 202, a GET with its events, a websocket event with the
 * event that caused it); move its phase forward; announce and refresh the portfolio when it
 * settled, and refresh the portfolio when a fill or a change moved what is held.
 */
export function receiveOrder(incoming: Order | OrderDetail): void {
  const { event, ...rest } = incoming;
  const events = 'events' in incoming ? incoming.events : null;
  const o: Order = { ...rest };
  delete (o as Partial<OrderDetail>).events;
  delete (o as Partial<OrderDetail>).fills;
  const s = getState();
  const before = s.orderPhases[o.id] ?? null;
  const phase = events ? phaseFromEvents(before, o, events) : nextPhase(before, o, event);
  const r = upsertOrder(s.orders, o);
  setState({
    ...(r.orders !== s.orders ? { orders: r.orders } : {}),
    ...(phase !== before ? { orderPhases: { ...s.orderPhases, [o.id]: phase } } : {}),
  });
  if (isSettlement(r.change)) announce(o);
  // What open orders hold changes once the settlement has taken the order in (rested, triggered,
  // a fill, its end) and on a modification; a 202 alone holds nothing yet.
  if ((phase !== before && phase !== 'accepted') || event?.kind === 'modified' || event?.kind === 'partially_filled') {
    refreshPortfolio().catch(() => {});
  }
}

// ---------------------------------------------------------------- reachability

let healthTimer: ReturnType<typeof setTimeout> | null = null;

function setReachable(ok: boolean): void {
  const s = getState();
  if (ok) {
    if (s.home !== 'online') {
      const wasOffline = s.home === 'offline';
      setState({ home: 'online' });
      if (healthTimer) clearTimeout(healthTimer);
      healthTimer = null;
      if (wasOffline) {
        socket?.nudge();
        void reloadAll();
      }
    }
    return;
  }
  if (s.home !== 'offline') {
    setState({ home: 'offline' });
    void learnOfflineMode();
    scheduleHealthProbe(2000);
  }
}

/**
 * While home is unreachable, can orders still be placed? Only if an order intake (the edge)
 * answers POST /api/orders. Until one does, the app assumes single-host mode: the banner
 * says orders cannot be placed and the ticket is disabled.
 */
async function learnOfflineMode(): Promise<void> {
  const edge = await api.orderIntakeAnswers();
  if (getState().home === 'offline') setState({ offlineMode: edge ? 'edge' : 'single' });
}

function scheduleHealthProbe(ms: number): void {
  if (healthTimer) return;
  healthTimer = setTimeout(async () => {
    healthTimer = null;
    if (getState().home !== 'offline') return;
    if (await api.homeAnswers()) setReachable(true);
    else {
      void learnOfflineMode();
      scheduleHealthProbe(Math.min(ms * 2, 15000));
    }
  }, ms);
}

let probing = false;

/** The socket keeps failing: ask a home route whether the home server itself is gone. */
async function checkHome(): Promise<void> {
  if (probing || getState().home === 'offline') return;
  probing = true;
  try {
    setReachable(await api.homeAnswers());
  } finally {
    probing = false;
  }
}

// While the socket is down but HTTP works, poll prices so they still move.
let quotePoll: ReturnType<typeof setInterval> | null = null;

function pollQuotesWhileSocketDown(down: boolean): void {
  if (down && !quotePoll) {
    quotePoll = setInterval(() => {
      if (getState().token && getState().home !== 'offline' && document.visibilityState === 'visible') {
        void loadQuotes().catch(() => {});
      }
    }, 5000);
  } else if (!down && quotePoll) {
    clearInterval(quotePoll);
    quotePoll = null;
  }
}

// ---------------------------------------------------------------- websocket

let socket: LiveSocket | null = null;
let hadSocketOpen = false;
let visibilityHooked = false;
const pendingQuotes = new Map<string, Quote>();
let flushTimer: ReturnType<typeof setTimeout> | null = null;
let sawFirstQuote = false;
let sawFirstLiveQuote = false;

type CandleListener = (c: Candle & { ticker_id: string }) => void;
const candleListeners = new Map<string, Set<CandleListener>>();

/** Listen to live forming-bar updates for one ticker. */
export function onCandle(tickerId: string, fn: CandleListener): () => void {
  let set = candleListeners.get(tickerId);
  if (!set) candleListeners.set(tickerId, (set = new Set()));
  set.add(fn);
  return () => set!.delete(fn);
}

type BookListener = (b: OrderBook) => void;
const bookListeners = new Map<string, Set<BookListener>>();

/** Listen to live order books of one ticker (the server sends at most 5 a second). */
export function onBook(tickerId: string, fn: BookListener): () => void {
  let set = bookListeners.get(tickerId);
  if (!set) bookListeners.set(tickerId, (set = new Set()));
  set.add(fn);
  return () => set!.delete(fn);
}

type FeedListener = (t: Trade) => void;
const feedListeners = new Set<FeedListener>();

/** Listen to other players' fills as they happen (those the server lets us see live). */
export function onFeed(fn: FeedListener): () => void {
  feedListeners.add(fn);
  return () => feedListeners.delete(fn);
}

function markFirstQuote(live: boolean): void {
  // Read by the e2e test for "time to first live price on a cold load".
  if (!sawFirstQuote) {
    sawFirstQuote = true;
    performance.mark('pt:first-quote');
  }
  if (live && !sawFirstLiveQuote) {
    sawFirstLiveQuote = true;
    performance.mark('pt:first-live-quote');
  }
}

function flushQuotes(): void {
  flushTimer = null;
  if (!pendingQuotes.size) return;
  const batch = [...pendingQuotes.values()];
  pendingQuotes.clear();
  setState((s) => ({ quotes: applyQuotes(s.quotes, batch) }));
  markFirstQuote(true);
}

function onMessage(msg: Message): void {
  switch (msg.type) {
    case 'quote': {
      const q = msg.quote;
      pendingQuotes.set(q.ticker_id, q);
      // Batch bursts into one render every 150 ms; a first quote is shown at once.
      if (!sawFirstLiveQuote) flushQuotes();
      else if (!flushTimer) flushTimer = setTimeout(flushQuotes, 150);
      break;
    }
    case 'fx': {
      if (msg.fx.pair === 'USD/KRW') takeUsdKrw({ ...msg.fx, stale: msg.fx.stale ?? false });
      break;
    }
    case 'candle': {
      const set = candleListeners.get(msg.ticker_id);
      if (set) for (const fn of set) fn({ ...msg.candle, ticker_id: msg.ticker_id });
      break;
    }
    case 'book': {
      const set = bookListeners.get(msg.book.ticker_id);
      if (set) for (const fn of set) fn(msg.book);
      break;
    }
    case 'order': {
      receiveOrder(msg.order);
      break;
    }
    case 'feed': {
      for (const fn of feedListeners) fn(msg.trade);
      break;
    }
    case 'error':
      // An auth error means our token is no longer accepted.
      if (/token|auth/i.test(msg.detail) && getState().token) expireSession();
      break;
    default:
      break;
  }
}

function startSocket(): void {
  if (socket) return;
  socket = new LiveSocket({
    url: defaultSocketUrl,
    token: () => getState().token,
    onMessage,
    onRejected: () => expireSession(),
    knownOrderType: (id) => getState().orders.find((o) => o.id === id)?.type,
    onStatus: (ws, failures) => {
      const before = getState().ws;
      setState({ ws, wsFailures: failures });
      if (ws === 'open') {
        setReachable(true);
        // Events may have been missed while we were away: catch up.
        if (before !== 'open' && hadSocketOpen) void reloadAll();
        hadSocketOpen = true;
        pollQuotesWhileSocketDown(false);
      } else if (failures >= 2) {
        void checkHome();
        pollQuotesWhileSocketDown(true);
      }
    },
  });
  socket.start();
}

/** Subscribe the socket to tickers while a view is shown. */
export function subscribeTickers(tickers: string[]): () => void {
  if (!socket) startSocket();
  return socket!.subscribe(tickers);
}

// ---------------------------------------------------------------- loading

/** Take a USD/KRW rate from the socket or HTTP; the freshest (by its `ts`) wins. */
function takeUsdKrw(rate: FxRate): void {
  const known = getState().usdKrw;
  const next = fresherFx(known, rate);
  if (next !== known) setState({ usdKrw: next, usdKrwAt: Date.now() });
}

function reportLoadError(e: unknown): void {
  if (e instanceof ApiError && (e.unreachable || e.status === 401)) return; // the banner / login page says it
  toast('error', t('common.error', { detail: errorMessage(getState().lang, e).text }));
}

function setInstruments(list: Instrument[]): void {
  const byId: Record<string, Instrument> = {};
  for (const i of list) byId[i.ticker_id] = i;
  setState({ instruments: list, instrumentsById: byId });
}

export async function loadInstruments(): Promise<void> {
  const list = await api.instruments();
  setInstruments(list);
  cache.save('instruments', list);
}

/**
 * The last instruments, quotes and portfolio seen, kept in localStorage so that a cold
 * load while the home server is unreachable still shows the pages and the order ticket
 * (the edge keeps accepting orders). Cached quotes are marked stale.
 */
const cache = {
  save(key: 'instruments' | 'quotes' | 'portfolio', value: unknown): void {
    save(`pt.cache.${key}`, JSON.stringify(value));
  },
  restore(): void {
    const read = <T,>(key: string): T | null => {
      try {
        const raw = localStorage.getItem(`pt.cache.${key}`);
        return raw ? (JSON.parse(raw) as T) : null;
      } catch {
        return null;
      }
    };
    const s = getState();
    const instruments = read<Instrument[]>('instruments');
    if (instruments && !s.instruments.length) setInstruments(instruments);
    const quotes = read<Quote[]>('quotes');
    if (quotes && !Object.keys(s.quotes).length) {
      setState({ quotes: applyQuotes({}, quotes.map((q) => ({ ...q, stale: true }))) });
    }
    const portfolio = read<Portfolio>('portfolio');
    if (portfolio && !s.portfolio) setState({ portfolio });
  },
  clear(): void {
    for (const k of ['instruments', 'quotes', 'portfolio']) save(`pt.cache.${k}`, null);
  },
};

export async function loadQuotes(): Promise<void> {
  const [quotes, fx] = await Promise.all([api.quotes(), api.fx().catch(() => [])]);
  setState((s) => ({ quotes: applyQuotes(s.quotes, quotes) }));
  cache.save('quotes', quotes);
  const usd = fx.find((f) => f.pair === 'USD/KRW');
  if (usd) takeUsdKrw(usd);
  if (quotes.length) markFirstQuote(false);
}

let portfolioInFlight: Promise<void> | null = null;
let portfolioAgain = false;

/** Fetch the portfolio; asked again while a fetch is in flight, it fetches once more after it (that one may predate the change). */
export function refreshPortfolio(): Promise<void> {
  if (portfolioInFlight) {
    portfolioAgain = true;
    return portfolioInFlight;
  }
  portfolioInFlight = Promise.all([api.portfolio(), api.history(30).catch(() => getState().history)])
    .then(([portfolio, history]) => {
      setState({ portfolio, portfolioAt: Date.now(), history });
      cache.save('portfolio', portfolio);
    })
    .finally(() => {
      portfolioInFlight = null;
      if (portfolioAgain) {
        portfolioAgain = false;
        refreshPortfolio().catch(() => {});
      }
    });
  return portfolioInFlight;
}

export async function refreshOrders(status?: 'open'): Promise<void> {
  const fetched = await api.orders(status, 200);
  const r = mergeOrders(getState().orders, fetched);
  setState({ orders: r.orders, ordersLoaded: true });
  for (const o of r.settled) announce(o);
}

/** Load everything a signed-in user sees; each part fails on its own. */
export async function reloadAll(): Promise<void> {
  if (!getState().token) return;
  const jobs = [
    loadInstruments(),
    loadQuotes(),
    refreshPortfolio(),
    refreshOrders(),
    api.me().then((me) => setState({ me })),
    loadCosts(),
  ];
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) reportLoadError(failed.reason);
}

/** The cost preset in force, for the ticket's estimate; an older server without it keeps the fallback. */
async function loadCosts(): Promise<void> {
  if (getState().costs) return;
  try {
    setState({ costs: await api.costs() });
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 404)) throw e;
  }
}

let periodic: ReturnType<typeof setInterval> | null = null;

// ---------------------------------------------------------------- session

export function startSession(): void {
  configureApi({
    token: () => getState().token,
    reachable: setReachable,
    unauthorized: expireSession,
  });
  if (!getState().token) return;
  cache.restore();
  startSocket();
  void reloadAll();
  if (!periodic) {
    // The websocket carries prices and orders; this keeps positions and the equity
    // history honest (and re-reads market open/close times).
    periodic = setInterval(() => {
      if (getState().token && getState().home !== 'offline' && document.visibilityState === 'visible') {
        void refreshPortfolio().catch(() => {});
        void loadInstruments().catch(() => {});
      }
    }, 30000);
  }
  if (!visibilityHooked) {
    visibilityHooked = true;
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') socket?.nudge();
    });
  }
}

function storeToken(token: string | null, expiresIn?: number): void {
  const exp = token && expiresIn ? Date.now() + expiresIn * 1000 : null;
  save('pt.token', token);
  save('pt.tokenExpiresAt', exp ? String(exp) : null);
  setState({ token, tokenExpiresAt: exp });
}

export async function login(username: string, password: string): Promise<void> {
  const tok = await api.login({ username, password });
  storeToken(tok.access_token, tok.expires_in);
  setState({ notice: null });
  startSession();
  socket?.authenticate();
  navigate({ page: 'home' });
}

export async function signup(username: string, password: string, nickname: string, invite?: string): Promise<void> {
  await api.signup({ username, password, nickname, ...(invite ? { invite_code: invite } : {}) });
  await login(username, password);
  toast('success', t('auth.welcome'));
}

function clearSession(): void {
  storeToken(null);
  cache.clear();
  socket?.stop();
  socket = null;
  pollQuotesWhileSocketDown(false);
  hadSocketOpen = false;
  if (periodic) clearInterval(periodic);
  periodic = null;
  setState({ me: null, portfolio: null, history: [], orders: [], ordersLoaded: false, orderPhases: {}, home: 'unknown', offlineMode: 'single' });
}

export function logout(): void {
  clearSession();
  navigate({ page: 'login', mode: 'login' });
}

export function expireSession(): void {
  if (!getState().token) return;
  clearSession();
  setState({ notice: t('auth.expired') });
  navigate({ page: 'login', mode: 'login' });
}

// ---------------------------------------------------------------- orders

export interface PlaceResult {
  order: Order;
  /** The home server is unreachable, so the order waits in the edge queue. */
  queued: boolean;
}

/**
 * Send one submission (its client_order_id already minted: see lib/submit.ts). While the
 * outcome is unknown it is retried a few times with the same id; if it still is, the error
 * goes to the ticket, which offers to retry the same submission.
 */
export async function placeOrder(body: NewOrder): Promise<PlaceResult> {
  const order = await sendWithRetries(api.placeOrder, body);
  // The 202 is the order as it was accepted: its events (accepted, rested with the stop and
  // trail mark, even a fill) may have come over the socket first, and are never older.
  if (!getState().orders.some((o) => o.id === order.id)) receiveOrder(order);
  followOrder(order.id);
  return { order, queued: getState().home === 'offline' };
}

/** When to ask GET /api/orders/{id} for an order still PENDING here (the socket may have missed its event). */
const FOLLOW_MS = [5000, 10000, 20000, 40000];

function followOrder(id: string, step = 0): void {
  if (step >= FOLLOW_MS.length) return;
  setTimeout(async () => {
    const known = getState().orders.find((o) => o.id === id);
    if (!getState().token || (known && TERMINAL.has(known.status))) return;
    try {
      receiveOrder(await api.order(id));
    } catch {
      /* unreachable or gone: the next step, the socket or a reload will tell */
    }
    followOrder(id, step + 1);
  }, FOLLOW_MS[step]);
}

export async function cancelOrder(id: string): Promise<void> {
  receiveOrder(await api.cancelOrder(id));
}

/** PATCH an open order; the server's 400/409 detail comes back as an ApiError. */
export async function modifyOrder(id: string, changes: OrderChanges): Promise<Order> {
  const o = await api.modifyOrder(id, changes);
  receiveOrder(o);
  return o;
}

/** The order with its fills and events, for the detail view (and the ticket's phase). */
export async function loadOrderDetail(id: string): Promise<OrderDetail> {
  const d = await api.order(id);
  receiveOrder(d);
  return d;
}
