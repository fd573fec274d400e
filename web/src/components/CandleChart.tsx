/**
 * The 1-minute candlestick chart: history from /api/candles, the forming bar from the
 * websocket's candle events (or, if those pause, folded from live quotes).
 */
import { useEffect, useRef, useState } from 'react';
import { CandlestickSeries, createChart, type IChartApi, type ISeriesApi, type UTCTimestamp } from 'lightweight-charts';
import { api } from '../lib/api';
import { errorMessage } from '../lib/i18n';
import { onCandle } from '../state/actions';
import { useT } from '../state/hooks';
import { type Bar, barFromPrice, mergeBar, toBar } from '../state/logic';
import { useStore } from '../state/store';
import { chartOptions, upDownColors } from './charts';
import { Message } from './common';

function precisionFor(currency: string, sample: number | undefined): number {
  if (currency === 'USD') return 2;
  if (sample === undefined) return 0;
  if (sample < 10) return 4;
  if (sample < 1000) return 2;
  return 0;
}

const asSeries = (b: Bar) => ({ ...b, time: b.time as UTCTimestamp });

export function CandleChart({ tickerId, currency }: { tickerId: string; currency: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<'Candlestick'> | null>(null);
  // The bars on the chart, for merging the forming bar; reset when the ticker changes.
  const bars = useRef<Bar[]>([]);
  const lastCandleEvent = useRef(0);
  const precision = useRef(currency === 'USD' ? 2 : 0);
  const lang = useStore((s) => s.lang);
  const theme = useStore((s) => s.theme);
  const ws = useStore((s) => s.ws);
  const quote = useStore((s) => s.quotes[tickerId]);
  const [error, setError] = useState<{ e: unknown } | null>(null);
  const [epoch, setEpoch] = useState(0);

  // Reload the history whenever the socket (re)opens: bars may have been missed.
  useEffect(() => {
    if (ws === 'open') setEpoch((e) => e + 1);
  }, [ws]);

  // Build the chart once per ticker/theme/language.
  useEffect(() => {
    if (!box.current) return;
    const { up, down } = upDownColors();
    const formats = new Map<number, Intl.NumberFormat>();
    const fmt = (p: number) => {
      const d = precision.current;
      let f = formats.get(d);
      if (!f) formats.set(d, (f = new Intl.NumberFormat(lang === 'ko' ? 'ko-KR' : 'en-US', { minimumFractionDigits: d, maximumFractionDigits: d })));
      return f.format(p);
    };
    const c = createChart(box.current, chartOptions(lang, fmt));
    // A new instrument has few bars: keep them readable instead of squeezed at the edge.
    c.timeScale().applyOptions({ barSpacing: 9, rightOffset: 4, minBarSpacing: 2 });
    const s = c.addSeries(CandlestickSeries, {
      upColor: up,
      downColor: down,
      borderUpColor: up,
      borderDownColor: down,
      wickUpColor: up,
      wickDownColor: down,
    });
    chart.current = c;
    series.current = s;
    if (bars.current.length) s.setData(bars.current.map(asSeries));
    return () => {
      c.remove();
      chart.current = null;
      series.current = null;
    };
  }, [tickerId, lang, theme]);

  // History.
  useEffect(() => {
    let cancelled = false;
    setError(null);
    api
      .candles(tickerId, 300)
      .then((list) => {
        if (cancelled) return;
        const loaded = list.map(toBar).filter((b): b is Bar => b !== null);
        // Keep a forming bar that arrived over the socket while we were loading.
        let merged = loaded;
        const live = bars.current[bars.current.length - 1];
        if (live) merged = mergeBar(loaded, live).bars;
        bars.current = merged;
        const p = precisionFor(currency, merged[merged.length - 1]?.close);
        precision.current = p;
        series.current?.applyOptions({ priceFormat: { type: 'price', precision: p, minMove: 1 / 10 ** p } });
        series.current?.setData(merged.map(asSeries));
        chart.current?.timeScale().scrollToRealTime();
      })
      .catch((e: unknown) => !cancelled && setError({ e }));
    return () => {
      cancelled = true;
    };
  }, [tickerId, currency, epoch]);

  // Live forming bar from candle events.
  useEffect(() => {
    bars.current = [];
    return onCandle(tickerId, (c) => {
      const bar = toBar(c);
      if (!bar) return;
      lastCandleEvent.current = Date.now();
      const r = mergeBar(bars.current, bar);
      if (!r.applied) return;
      bars.current = r.bars;
      series.current?.update(asSeries(bar));
    });
  }, [tickerId]);

  // Fallback: fold quotes into the forming bar when candle events are not arriving.
  useEffect(() => {
    if (!quote || Date.now() - lastCandleEvent.current < 5000 || !bars.current.length) return;
    const bar = barFromPrice(bars.current[bars.current.length - 1], Number(quote.price), quote.ts);
    if (!bar) return;
    bars.current = mergeBar(bars.current, bar).bars;
    series.current?.update(asSeries(bar));
  }, [quote, tickerId]);

  return (
    <div className="chart-wrap">
      <div className="chart-box" ref={box} data-testid="candle-chart" />
      {error && <ErrorLine e={error.e} />}
    </div>
  );
}

function ErrorLine({ e }: { e: unknown }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const m = errorMessage(lang, e);
  return (
    <p className="form-error">
      <Message text={t('common.error', { detail: m.text })} secondary={m.secondary} />
    </p>
  );
}
