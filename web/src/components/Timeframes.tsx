/** The chart's timeframe picker: 1분 5분 15분 1시간 일 주, one pressed at a time. */
import type { CandleInterval } from '../lib/types';
import { useStore } from '../state/store';

export const INTERVALS: readonly CandleInterval[] = ['1m', '5m', '15m', '1h', '1d', '1w'];

const LABELS: Record<'ko' | 'en', Record<CandleInterval, string>> = {
  ko: { '1m': '1분', '5m': '5분', '15m': '15분', '1h': '1시간', '1d': '일', '1w': '주' },
  en: { '1m': '1m', '5m': '5m', '15m': '15m', '1h': '1h', '1d': '1D', '1w': '1W' },
};

/** Seconds a bar of `interval` spans (a day or a week on the market's own calendar: roughly). */
export const INTERVAL_SECONDS: Record<CandleInterval, number> = {
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '1h': 3600,
  '1d': 86400,
  '1w': 7 * 86400,
};

export function intervalLabel(interval: CandleInterval, lang: 'ko' | 'en'): string {
  return LABELS[lang][interval];
}

export function Timeframes({ value, onChange }: { value: CandleInterval; onChange: (i: CandleInterval) => void }) {
  const lang = useStore((s) => s.lang);
  return (
    <div className="timeframes" role="group" aria-label={lang === 'ko' ? '차트 간격' : 'Chart interval'}>
      {INTERVALS.map((interval) => (
        <button
          key={interval}
          type="button"
          className={interval === value ? 'tf on' : 'tf'}
          aria-pressed={interval === value}
          onClick={() => onChange(interval)}
          data-testid={`tf-${interval}`}
        >
          {LABELS[lang][interval]}
        </button>
      ))}
    </div>
  );
}
