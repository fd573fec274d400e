/** React hooks over the store: translation, the live portfolio, a ticking clock, subscriptions. */
import { useEffect, useMemo, useState } from 'react';
import { type Key, translate } from '../lib/i18n';
import type { Portfolio } from '../lib/types';
import { subscribeTickers } from './actions';
import { type LiveRate, revalue, usdKrwFor } from './logic';
import { useStore } from './store';

export function useT(): (key: Key, vars?: Record<string, string | number>) => string {
  const lang = useStore((s) => s.lang);
  return useMemo(() => (key: Key, vars?: Record<string, string | number>) => translate(lang, key, vars), [lang]);
}

/** The portfolio re-valued at the live quotes and FX rate. */
export function useLivePortfolio(): Portfolio | null {
  const portfolio = useStore((s) => s.portfolio);
  const portfolioAt = useStore((s) => s.portfolioAt);
  const quotes = useStore((s) => s.quotes);
  const live = useLiveRate();
  return useMemo(() => (portfolio ? revalue(portfolio, quotes, live, portfolioAt) : null), [portfolio, quotes, live, portfolioAt]);
}

function useLiveRate(): LiveRate | null {
  const rate = useStore((s) => s.usdKrw?.rate ?? null);
  const at = useStore((s) => s.usdKrwAt);
  return useMemo(() => (rate === null ? null : { rate, at }), [rate, at]);
}

/** The freshest USD/KRW rate the app has: live (websocket, GET /api/fx) or the portfolio answer's. */
export function useUsdKrw(): string | null {
  const live = useLiveRate();
  const portfolio = useStore((s) => s.portfolio);
  const portfolioAt = useStore((s) => s.portfolioAt);
  return usdKrwFor(live, portfolio, portfolioAt);
}

/** The current time, re-rendering every `ms`. */
export function useNow(ms = 30000): Date {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const id = setInterval(() => setNow(new Date()), ms);
    return () => clearInterval(id);
  }, [ms]);
  return now;
}

/** Keep the websocket subscribed to `tickers` while the component is shown. */
export function useSubscription(tickers: string[]): void {
  const key = [...tickers].sort().join(',');
  useEffect(() => {
    if (!key) return;
    return subscribeTickers(key.split(','));
  }, [key]);
}
