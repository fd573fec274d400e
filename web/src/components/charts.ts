/** Shared lightweight-charts options: colours from the CSS theme, times in the browser's zone. */
import { ColorType, type DeepPartial, type ChartOptions, type Time, TickMarkType } from 'lightweight-charts';
import type { Lang } from '../lib/format';

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

const locales: Record<Lang, string> = { ko: 'ko-KR', en: 'en-US' };

/** lightweight-charts works in UTC seconds; these formatters show the browser's local time. */
function timeFormatters(lang: Lang) {
  const loc = locales[lang];
  const full = new Intl.DateTimeFormat(loc, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const hm = new Intl.DateTimeFormat(loc, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const md = new Intl.DateTimeFormat(loc, { month: 'short', day: 'numeric' });
  const ym = new Intl.DateTimeFormat(loc, { year: 'numeric', month: 'short' });
  const toDate = (t: Time) => new Date((typeof t === 'number' ? t : 0) * 1000);
  return {
    timeFormatter: (t: Time) => full.format(toDate(t)),
    tickMarkFormatter: (t: Time, type: TickMarkType) => {
      const d = toDate(t);
      if (type === TickMarkType.Year || type === TickMarkType.Month) return ym.format(d);
      if (type === TickMarkType.DayOfMonth) return md.format(d);
      return hm.format(d);
    },
  };
}

export function chartOptions(lang: Lang, priceFormatter?: (p: number) => string): DeepPartial<ChartOptions> {
  const { timeFormatter, tickMarkFormatter } = timeFormatters(lang);
  const text = cssVar('--muted') || '#8b949e';
  const grid = cssVar('--grid') || 'rgba(128,128,128,0.12)';
  return {
    autoSize: true,
    layout: {
      background: { type: ColorType.Solid, color: 'transparent' },
      textColor: text,
      fontFamily: getComputedStyle(document.body).fontFamily,
      attributionLogo: false,
      panes: { separatorColor: grid, separatorHoverColor: grid },
    },
    grid: { vertLines: { color: grid }, horzLines: { color: grid } },
    rightPriceScale: { borderVisible: false },
    timeScale: { borderVisible: false, timeVisible: true, secondsVisible: false, tickMarkFormatter },
    localization: { locale: locales[lang], timeFormatter, ...(priceFormatter ? { priceFormatter } : {}) },
    crosshair: { mode: 0 },
  };
}

export function upDownColors(): { up: string; down: string } {
  return { up: cssVar('--up') || '#f04452', down: cssVar('--down') || '#3182f6' };
}

export function accent(): string {
  return cssVar('--accent-text') || '#3b82f6';
}
