/**
 * Exact decimal arithmetic for money and quantities, as BigInt scaled by 10^8.
 *
 * The API sends every amount as a decimal string with at most 8 fractional digits
 * (NUMERIC(20, 8) in the database), so 8 digits is all the precision the app needs.
 * JS floats are never used for an amount the user reads as exact.
 */

export type Dec = bigint;

export const SCALE = 8;
const ONE_RAW = 10n ** BigInt(SCALE);

export const ZERO: Dec = 0n;
export const ONE: Dec = ONE_RAW;

const DECIMAL_RE = /^([+-])?(\d*)(?:\.(\d*))?$/;

/** True when `s` is a plain decimal number such as "12", "-0.5" or ".25". */
export function isDecimalString(s: string): boolean {
  const m = DECIMAL_RE.exec(s.trim());
  return !!m && (m[2] + (m[3] ?? '')).length > 0;
}

/** Parse a decimal string (or an integer) into a scaled BigInt; extra digits round half away from zero. */
export function dec(value: string | number | bigint): Dec {
  if (typeof value === 'bigint') return value * ONE_RAW;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`dec(): use a string for fractional value ${value}`);
    return BigInt(value) * ONE_RAW;
  }
  const m = DECIMAL_RE.exec(value.trim());
  if (!m || (m[2] + (m[3] ?? '')).length === 0) throw new Error(`not a decimal: ${JSON.stringify(value)}`);
  const negative = m[1] === '-';
  const intPart = m[2] || '0';
  const frac = m[3] ?? '';
  let raw = BigInt(intPart) * ONE_RAW + BigInt((frac.slice(0, SCALE) || '0').padEnd(SCALE, '0'));
  if (frac.length > SCALE && frac.charCodeAt(SCALE) >= 53 /* '5' */) raw += 1n;
  return negative ? -raw : raw;
}

/** Like dec() but null/undefined/garbage give null instead of throwing. */
export function decOrNull(value: string | null | undefined): Dec | null {
  if (value === null || value === undefined || !isDecimalString(value)) return null;
  return dec(value);
}

export const add = (a: Dec, b: Dec): Dec => a + b;
export const sub = (a: Dec, b: Dec): Dec => a - b;
export const neg = (a: Dec): Dec => -a;
export const abs = (a: Dec): Dec => (a < 0n ? -a : a);
export const cmp = (a: Dec, b: Dec): -1 | 0 | 1 => (a < b ? -1 : a > b ? 1 : 0);
export const isZero = (a: Dec): boolean => a === 0n;

/** Integer division rounding half away from zero. */
function divRound(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  const negative = n < 0n !== d < 0n;
  const an = n < 0n ? -n : n;
  const ad = d < 0n ? -d : d;
  let q = an / ad;
  if ((an % ad) * 2n >= ad) q += 1n;
  return negative ? -q : q;
}

export function mul(a: Dec, b: Dec): Dec {
  return divRound(a * b, ONE_RAW);
}

export function div(a: Dec, b: Dec): Dec {
  return divRound(a * ONE_RAW, b);
}

/** Round to `places` fractional digits (0..8), half away from zero. */
export function round(a: Dec, places: number): Dec {
  const unit = 10n ** BigInt(SCALE - places);
  return divRound(a, unit) * unit;
}

/** Round toward zero to `places` fractional digits (for "how much can I afford"). */
export function truncate(a: Dec, places: number): Dec {
  const unit = 10n ** BigInt(SCALE - places);
  return (a / unit) * unit;
}

export function sum(values: Iterable<Dec>): Dec {
  let total = 0n;
  for (const v of values) total += v;
  return total;
}

/**
 * The plain decimal string: all 8 digits unless `trim`, which drops trailing zeros
 * (and the dot when nothing is left after it).
 */
export function toPlain(a: Dec, trim = true): string {
  const negative = a < 0n;
  const raw = negative ? -a : a;
  const intPart = (raw / ONE_RAW).toString();
  let frac = (raw % ONE_RAW).toString().padStart(SCALE, '0');
  if (trim) frac = frac.replace(/0+$/, '');
  const body = frac ? `${intPart}.${frac}` : intPart;
  return negative && raw !== 0n ? `-${body}` : body;
}

/** A float for charts and sorting only — never for an amount shown as exact. */
export function toNumber(a: Dec): number {
  return Number(toPlain(a));
}
