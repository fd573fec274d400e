/** The app's single store: plain state, setState, and a selector hook over useSyncExternalStore. */
import { useSyncExternalStore } from 'react';
import type { Lang } from '../lib/format';
import type { SocketStatus } from '../lib/socket';
import type { Costs, EquityPoint, FxRate, Instrument, Order, Portfolio, Quote, User } from '../lib/types';
import type { TicketPhase } from './ticket';

export type Theme = 'dark' | 'light';
export type Home = 'unknown' | 'online' | 'offline';
/**
 * How orders reach the server while the home server is unreachable: 'edge' when an order
 * intake still answers POST /api/orders (the cloud edge), 'single' when nothing does (one
 * host: an order placed now fails). See web/README.md.
 */
export type OfflineMode = 'single' | 'edge';

export interface Toast {
  id: number;
  kind: 'success' | 'error' | 'info';
  text: string;
}

export interface State {
  lang: Lang;
  theme: Theme;
  token: string | null;
  tokenExpiresAt: number | null;
  me: User | null;
  instruments: Instrument[];
  instrumentsById: Record<string, Instrument>;
  quotes: Record<string, Quote>;
  usdKrw: FxRate | null;
  /** When (local ms) usdKrw came in; compared with portfolioAt to pick the fresher rate. */
  usdKrwAt: number;
  portfolio: Portfolio | null;
  /** When (local ms) the portfolio answer came in. */
  portfolioAt: number;
  history: EquityPoint[];
  orders: Order[];
  ordersLoaded: boolean;
  /** Where each order stands by its events (state/ticket.ts nextPhase), for the ticket's status. */
  orderPhases: Record<string, TicketPhase>;
  /** The cost preset in force (GET /api/costs); null until it answers. */
  costs: Costs | null;
  ws: SocketStatus;
  wsFailures: number;
  home: Home;
  offlineMode: OfflineMode;
  toasts: Toast[];
  /** A message for the login page (e.g. "session expired"). */
  notice: string | null;
}

function stored(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function initialTheme(): Theme {
  const t = stored('pt.theme');
  if (t === 'dark' || t === 'light') return t;
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}

function initialToken(): { token: string | null; tokenExpiresAt: number | null } {
  const token = stored('pt.token');
  const exp = Number(stored('pt.tokenExpiresAt') ?? '0');
  if (!token || (exp && exp < Date.now())) return { token: null, tokenExpiresAt: null };
  return { token, tokenExpiresAt: exp || null };
}

export function initialState(): State {
  return {
    lang: stored('pt.lang') === 'en' ? 'en' : 'ko',
    theme: initialTheme(),
    ...initialToken(),
    me: null,
    instruments: [],
    instrumentsById: {},
    quotes: {},
    usdKrw: null,
    usdKrwAt: 0,
    portfolio: null,
    portfolioAt: 0,
    history: [],
    orders: [],
    ordersLoaded: false,
    orderPhases: {},
    costs: null,
    ws: 'closed',
    wsFailures: 0,
    home: 'unknown',
    offlineMode: 'single',
    toasts: [],
    notice: null,
  };
}

let state: State = initialState();
const listeners = new Set<() => void>();

export function getState(): State {
  return state;
}

export function setState(patch: Partial<State> | ((s: State) => Partial<State>)): void {
  const p = typeof patch === 'function' ? patch(state) : patch;
  let changed = false;
  for (const k in p) {
    if (!Object.is((p as Record<string, unknown>)[k], (state as unknown as Record<string, unknown>)[k])) {
      changed = true;
      break;
    }
  }
  if (!changed) return;
  state = { ...state, ...p };
  for (const l of listeners) l();
}

export function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Select a slice; the component re-renders only when the slice changes (by identity). */
export function useStore<T>(selector: (s: State) => T): T {
  return useSyncExternalStore(subscribe, () => selector(state), () => selector(state));
}
