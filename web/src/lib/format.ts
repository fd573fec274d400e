/**
 * How amounts, prices, quantities, percentages and times are shown.
 *
 * Decisions (see web/README.md):
 * - KRW *amounts* (cash, equity, values, P&L, totals, fees) are rounded to the whole won
 *   for display, half away from zero; the exact value is kept for tooltips. The won has no
 *   minor unit in use, so "9,899,500.5" would be noise on a balance.
 * - KRW *prices* per unit keep the decimals they really have, trailing zeros trimmed, but no
 *   more than the price's size makes meaningful (Upbit's tick sizes): 1,000 won and up → whole
 *   won, 100+ → 2, 1+ → 4, below 1 → 8. "71000.00000000" → "71,000", "281.5" → "281.5",
 *   an average price of 149,956,363.63636364 → "149,956,364".
 * - USD always with 2 decimals. Quantities up to 8 decimals, trailing zeros trimmed.
 * - Times arrive in UTC and are shown in the browser's time zone.
 */
import { type Dec, dec, decOrNull, round, toPlain } from './decimal';

export type Lang = 'ko' | 'en';
export type Currency = 'KRW' | 'USD' | 'KRW-COIN' | string;

const DASH = '—';

function group(intDigits: string): string {
  return intDigits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Group a plain decimal string: "-1234567.5" → "-1,234,567.5". */
export function groupPlain(plain: string): string {
  const negative = plain.startsWith('-');
  const body = negative ? plain.slice(1) : plain;
  const [i, f] = body.split('.');
  const out = f !== undefined ? `${group(i)}.${f}` : group(i);
  return negative ? `-${out}` : out;
}

function asDec(v: string | Dec | null | undefined): Dec | null {
  if (v === null || v === undefined) return null;
  return typeof v === 'bigint' ? v : decOrNull(v);
}

/** A number with a fixed count of decimals: fixed("1234.5", 2) → "1,234.50". */
export function fixed(v: string | Dec | null | undefined, places: number): string {
  const d = asDec(v);
  if (d === null) return DASH;
  const plain = toPlain(round(d, places), false);
  const [i, f] = plain.split('.');
  return groupPlain(places > 0 ? `${i}.${f.slice(0, places)}` : i);
}

/** A number with up to `maxPlaces` decimals, trailing zeros trimmed. */
export function trimmed(v: string | Dec | null | undefined, maxPlaces = 8): string {
  const d = asDec(v);
  if (d === null) return DASH;
  return groupPlain(toPlain(round(d, maxPlaces), true));
}

function withKrwUnit(body: string, lang: Lang): string {
  if (body === DASH) return DASH;
  if (lang === 'ko') return `${body}원`;
  return body.startsWith('-') ? `-₩${body.slice(1)}` : `₩${body}`;
}

function withUsdUnit(body: string): string {
  if (body === DASH) return DASH;
  return body.startsWith('-') ? `-$${body.slice(1)}` : `$${body}`;
}

/** A KRW amount, rounded to the won: "9,899,501원" (ko) or "₩9,899,501" (en). */
export function krw(v: string | Dec | null | undefined, lang: Lang): string {
  return withKrwUnit(fixed(v, 0), lang);
}

/** A signed KRW amount for P&L: "+12,345원", "-500원", "0원". */
export function krwSigned(v: string | Dec | null | undefined, lang: Lang): string {
  const d = asDec(v);
  if (d === null) return DASH;
  const s = krw(d, lang);
  return round(d, 0) > 0n ? `+${s}` : s;
}

/** How many decimals a KRW price of this size can meaningfully have. */
export function krwPricePlaces(d: Dec): number {
  const a = d < 0n ? -d : d;
  if (a >= dec(1000)) return 0;
  if (a >= dec(100)) return 2;
  if (a >= dec(1)) return 4;
  return 8;
}

/** A price without the currency unit, for dense tables. */
export function priceBare(v: string | Dec | null | undefined, currency: Currency): string {
  if (currency === 'USD') return fixed(v, 2);
  const d = asDec(v);
  return d === null ? DASH : trimmed(d, krwPricePlaces(d));
}

/** A per-unit price in its own currency: USD with 2 decimals, KRW as priceBare. */
export function price(v: string | Dec | null | undefined, currency: Currency, lang: Lang): string {
  if (currency === 'USD') return withUsdUnit(fixed(v, 2));
  return withKrwUnit(priceBare(v, currency), lang);
}

/** A quantity: up to 8 decimals, trailing zeros trimmed. */
export function qty(v: string | Dec | null | undefined): string {
  return trimmed(v, 8);
}

/** A percentage given as a decimal string of percent ("-1.25"): "+1.25%". */
export function pct(v: string | Dec | null | undefined): string {
  const d = asDec(v);
  if (d === null) return DASH;
  const body = fixed(d, 2);
  return round(d, 2) > 0n ? `+${body}%` : `${body}%`;
}

/** -1, 0 or 1: the direction of a change, for colouring. */
export function direction(v: string | Dec | null | undefined): -1 | 0 | 1 {
  const d = asDec(v);
  if (d === null || d === 0n) return 0;
  return d > 0n ? 1 : -1;
}

/** Parse an ISO 8601 UTC time from the API; null for null or garbage. */
export function parseTime(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

const locales: Record<Lang, string> = { ko: 'ko-KR', en: 'en-US' };
const formatters = new Map<string, Intl.DateTimeFormat>();

function dtf(lang: Lang, opts: Intl.DateTimeFormatOptions, timeZone?: string): Intl.DateTimeFormat {
  const key = `${lang}|${timeZone ?? ''}|${JSON.stringify(opts)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locales[lang], { ...opts, timeZone });
    formatters.set(key, f);
  }
  return f;
}

/** Date and time in the browser's zone (or `timeZone` in tests): "2025. 11. 26. 오후 3:04:05". */
export function dateTime(iso: string | null | undefined, lang: Lang, timeZone?: string): string {
  const d = parseTime(iso);
  if (!d) return DASH;
  return dtf(
    lang,
    { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' },
    timeZone,
  ).format(d);
}

/** Date (with the year) and time for lists: "2025. 11. 26. 15:04" / "11/26/2025, 15:04". */
export function shortDateTime(iso: string | null | undefined, lang: Lang, timeZone?: string): string {
  const d = parseTime(iso);
  if (!d) return DASH;
  return dtf(lang, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }, timeZone).format(d);
}

/** Where each market's hours are kept, and the label shown after its times. */
export const MARKET_ZONES: Record<'KRX' | 'US', { timeZone: string; label: string }> = {
  KRX: { timeZone: 'Asia/Seoul', label: 'KST' },
  US: { timeZone: 'America/New_York', label: 'ET' },
};

/**
 * A market's open/close time in that market's own zone, labelled: "11월 27일 (목) 09:00 KST",
 * "Nov 26 (Wed) 09:30 ET" — so a US open reads 09:30 wherever the player is.
 */
export function marketTime(iso: string | null | undefined, lang: Lang, market: 'KRX' | 'US'): string {
  const d = parseTime(iso);
  if (!d) return DASH;
  const zone = MARKET_ZONES[market];
  const text = dtf(
    lang,
    { month: 'short', day: 'numeric', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
    zone.timeZone,
  ).format(d);
  return `${text} ${zone.label}`;
}

/** Clock time only: "15:04:05". */
export function clock(d: Date, lang: Lang, timeZone?: string): string {
  return dtf(lang, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }, timeZone).format(d);
}

/** "2h 5m" style time until `iso` from `now`; null when past. */
export function until(iso: string | null | undefined, now: Date, lang: Lang): string | null {
  const d = parseTime(iso);
  if (!d) return null;
  let minutes = Math.ceil((d.getTime() - now.getTime()) / 60000);
  if (minutes <= 0) return null;
  const days = Math.floor(minutes / 1440);
  minutes -= days * 1440;
  const hours = Math.floor(minutes / 60);
  minutes -= hours * 60;
  const [D, H, M] = lang === 'ko' ? ['일', '시간', '분'] : ['d', 'h', 'm'];
  const parts: string[] = [];
  if (days) parts.push(`${days}${D}`);
  if (hours) parts.push(`${hours}${H}`);
  if (minutes && !days) parts.push(`${minutes}${M}`);
  return parts.join(' ') || `1${M}`;
}

/** Parse user input for a quantity or price: digits, one dot, at most 8 decimals. */
export function parseUserDecimal(input: string): Dec | null {
  const s = input.trim().replace(/,/g, '');
  if (!/^\d+(\.\d{0,8})?$|^\.\d{1,8}$/.test(s)) return null;
  return dec(s);
}

/** Characters as the server counts a nickname's (Python's len): code points, so "😀" is 1, not 2. */
export function characters(s: string): number {
  return [...s].length;
}
