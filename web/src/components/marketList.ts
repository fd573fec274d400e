/** The markets list's pure parts: 초성 search, sorting by change / volume / traded value, and
 * the watchlist (관심종목) kept in localStorage. */
import type { Instrument, MarketStats, Quote } from '../lib/types';

const INITIALS = 'ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ';
const SYLLABLE_FIRST = 0xac00;
const SYLLABLE_LAST = 0xd7a3;
const PER_INITIAL = 21 * 28; // medial vowels x final consonants

/** The initial consonants (초성) of `text`: 삼성전자 → ㅅㅅㅈㅈ; other characters stay. */
export function initials(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    out += code >= SYLLABLE_FIRST && code <= SYLLABLE_LAST ? INITIALS[Math.floor((code - SYLLABLE_FIRST) / PER_INITIAL)] : ch;
  }
  return out;
}

function onlyInitials(q: string): boolean {
  return q.length > 0 && [...q].every((ch) => INITIALS.includes(ch));
}

/** Whether `inst` matches the search `query`: name, Korean name, ticker or symbol contain it,
 * or, for a query of initial consonants only (ㅅㅅ), the Korean name's 초성 contain it. */
export function matches(inst: Instrument, query: string): boolean {
  const q = query.trim().toLowerCase().replace(/\s+/g, '');
  if (!q) return true;
  const symbol = inst.ticker_id.split('-').slice(2).join('-');
  const hay = [inst.ticker_id, symbol, inst.name, inst.name_ko ?? ''].map((s) => s.toLowerCase().replace(/\s+/g, ''));
  if (hay.some((h) => h.includes(q))) return true;
  return onlyInitials(q) && initials((inst.name_ko ?? '').replace(/\s+/g, '')).includes(q);
}

export type SortKey = 'default' | 'change' | 'volume' | 'value';
export type SortDir = 'desc' | 'asc';

/** The number a row sorts by; null sorts last whatever the direction. */
export function sortValue(
  key: SortKey,
  inst: Instrument,
  quote: Quote | undefined,
  stats: MarketStats | undefined,
  usdKrw: number | null,
): number | null {
  switch (key) {
    case 'change':
      return quote?.change_pct != null ? Number(quote.change_pct) : null;
    case 'volume':
      return stats ? Number(stats.volume) : null;
    case 'value': {
      if (!stats) return null;
      const value = Number(stats.traded_value);
      if (inst.currency !== 'USD') return value;
      return usdKrw === null ? null : value * usdKrw; // compared in KRW
    }
    default:
      return null;
  }
}

export function sortInstruments(
  list: Instrument[],
  key: SortKey,
  dir: SortDir,
  value: (inst: Instrument) => number | null,
): Instrument[] {
  if (key === 'default') return list;
  const sign = dir === 'desc' ? -1 : 1;
  return [...list].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    if (va === null && vb === null) return 0;
    if (va === null) return 1;
    if (vb === null) return -1;
    return sign * (va - vb);
  });
}

const WATCH_KEY = 'pt.watchlist';

export function loadWatchlist(storage: Pick<Storage, 'getItem'> = localStorage): string[] {
  try {
    const saved: unknown = JSON.parse(storage.getItem(WATCH_KEY) ?? '[]');
    return Array.isArray(saved) ? saved.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

export function toggleWatch(list: string[], tickerId: string, storage: Pick<Storage, 'setItem'> = localStorage): string[] {
  const next = list.includes(tickerId) ? list.filter((t) => t !== tickerId) : [...list, tickerId];
  storage.setItem(WATCH_KEY, JSON.stringify(next));
  return next;
}
