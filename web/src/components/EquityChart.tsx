/** The equity-over-time area chart (lazy-loaded with lightweight-charts). */
import { useEffect, useRef } from 'react';
import { AreaSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import type { EquityPoint } from '../lib/types';
import { equityPoints } from '../state/logic';
import { useStore } from '../state/store';
import { accent, chartOptions } from './charts';

export default function EquityChart({ history }: { history: EquityPoint[] }) {
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
    series.current.setData(equityPoints(history).map((p) => ({ time: p.time as UTCTimestamp, value: p.value })));
    chart.current?.timeScale().fitContent();
  }, [history, lang, theme]);

  return <div className="chart-box small" ref={box} data-testid="equity-chart" />;
}
