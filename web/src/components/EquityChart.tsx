/** The equity-over-time area chart (lazy-loaded with lightweight-charts). */
import { useEffect, useRef } from 'react';
import { AreaSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import { parseTime } from '../lib/format';
import type { EquityPoint } from '../lib/types';
import { useStore } from '../state/store';
import { accent, chartOptions } from './charts';

function points(history: EquityPoint[], current: string) {
  const out: { time: UTCTimestamp; value: number }[] = [];
  for (const h of history) {
    const t = parseTime(h.time);
    if (!t) continue;
    const time = Math.floor(t.getTime() / 1000) as UTCTimestamp;
    if (out.length && out[out.length - 1].time >= time) out.pop();
    out.push({ time, value: Number(h.equity_krw) });
  }
  const now = Math.floor(Date.now() / 1000) as UTCTimestamp;
  while (out.length && out[out.length - 1].time >= now) out.pop();
  out.push({ time: now, value: Number(current) });
  return out;
}

export default function EquityChart({ history, current }: { history: EquityPoint[]; current: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<'Area'> | null>(null);
  const lang = useStore((s) => s.lang);
  const theme = useStore((s) => s.theme);

  useEffect(() => {
    if (!box.current) return;
    const fmt = new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US', { maximumFractionDigits: 0 });
    const c = createChart(box.current, chartOptions(lang, (p) => fmt.format(p)));
    const color = accent();
    series.current = c.addSeries(AreaSeries, {
      lineColor: color,
      topColor: `${color}55`,
      bottomColor: `${color}00`,
      lineWidth: 2,
      priceLineVisible: false,
    });
    chart.current = c;
    return () => {
      c.remove();
      chart.current = null;
      series.current = null;
    };
  }, [lang, theme]);

  useEffect(() => {
    if (!series.current) return;
    series.current.setData(points(history, current));
    chart.current?.timeScale().fitContent();
  }, [history, current, lang, theme]);

  return <div className="chart-box small" ref={box} data-testid="equity-chart" />;
}
