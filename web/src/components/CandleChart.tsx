/**
 * The instrument's candlestick chart with a volume pane and the user's own fills as markers.
 * Timeframes 1분 … 주 load `/api/candles?interval=`; scrolling back to the left edge loads older
 * bars with `before=`. The 1-minute forming bar comes from the websocket's candle events (or,
 * if those pause, is folded from live quotes); coarser forming bars fold the live quotes.
 */
import { useEffect, useRef, useState } from 'react';
import {
  CandlestickSeries,
  createChart,
  createSeriesMarkers,
  HistogramSeries,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { api } from '../lib/api';
import { parseTime } from '../lib/format';
import { errorMessage } from '../lib/i18n';
import type { Candle, CandleInterval, Order } from '../lib/types';
import { onCandle } from '../state/actions';
import { useT } from '../state/hooks';
import { type Bar, mergeBar, toBar } from '../state/logic';
import { useStore } from '../state/store';
import { chartOptions, upDownColors } from './charts';
import { Message } from './common';
import { INTERVAL_SECONDS, Timeframes } from './Timeframes';

const PAGE = 300;
const INTERVAL_KEY = 'pt.interval';

/** A bar with its volume (the candle series ignores the extra field). */
interface VBar extends Bar {
  volume: number;
}

function precisionFor(currency: string, sample: number | undefined): number {
  if (currency === 'USD') return 2;
  if (sample === undefined) return 0;
  if (sample < 10) return 4;
  if (sample < 1000) return 2;
  return 0;
}

function toVBar(c: Candle): VBar | null {
  const bar = toBar(c);
  return bar ? { ...bar, volume: Number(c.volume) } : null;
}

const asSeries = (b: Bar) => ({ time: b.time as UTCTimestamp, open: b.open, high: b.high, low: b.low, close: b.close });

/** A volume bar, tinted as its candle (rising or falling). */
function volumePoint(b: VBar, { up, down } = upDownColors()) {
  return { time: b.time as UTCTimestamp, value: b.volume, color: `${b.close >= b.open ? up : down}88` };
}

function savedInterval(): CandleInterval {
  const saved = localStorage.getItem(INTERVAL_KEY);
  return (saved && saved in INTERVAL_SECONDS ? saved : '1m') as CandleInterval;
}

/** Older bars before newer ones, one per start time (the newer copy wins). */
function joinBars(older: VBar[], newer: VBar[]): VBar[] {
  const first = newer[0]?.time ?? Infinity;
  return [...older.filter((b) => b.time < first), ...newer];
}

/** The start of the bar that `t` (UTC seconds) falls in, or null before the first bar. */
function barAt(bars: VBar[], t: number): number | null {
  let lo = 0;
  let hi = bars.length - 1;
  let found: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (bars[mid].time <= t) {
      found = bars[mid].time;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

function fillMarkers(bars: VBar[], fills: Order[], lang: 'ko' | 'en'): SeriesMarker<Time>[] {
  const { up, down } = upDownColors();
  const markers: SeriesMarker<Time>[] = [];
  for (const o of fills) {
    const at = parseTime(o.filled_at);
    if (!at || o.status !== 'FILLED') continue;
    const time = barAt(bars, Math.floor(at.getTime() / 1000));
    if (time === null) continue;
    const buy = o.side === 'BUY';
    markers.push({
      time: time as UTCTimestamp,
      position: buy ? 'belowBar' : 'aboveBar',
      shape: buy ? 'arrowUp' : 'arrowDown',
      color: buy ? up : down,
      text: lang === 'ko' ? (buy ? '매수' : '매도') : buy ? 'Buy' : 'Sell',
    });
  }
  return markers.sort((a, b) => (a.time as number) - (b.time as number));
}

export function CandleChart({ tickerId, currency }: { tickerId: string; currency: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi | null>(null);
  const series = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const volume = useRef<ISeriesApi<'Histogram'> | null>(null);
  const markers = useRef<ISeriesMarkersPluginApi<Time> | null>(null);
  // The bars on the chart, for merging the forming bar and paging back.
  const bars = useRef<VBar[]>([]);
  const older = useRef({ loading: false, exhausted: false });
  const lastCandleEvent = useRef(0);
  const precision = useRef(currency === 'USD' ? 2 : 0);
  const lang = useStore((s) => s.lang);
  const theme = useStore((s) => s.theme);
  const ws = useStore((s) => s.ws);
  const quote = useStore((s) => s.quotes[tickerId]);
  const orders = useStore((s) => s.orders);
  const [interval, setChartInterval] = useState<CandleInterval>(savedInterval);
  const intervalRef = useRef(interval);
  intervalRef.current = interval;
  const [fetchedFills, setFetchedFills] = useState<Order[]>([]);
  const [barCount, setBarCount] = useState(0);
  const [error, setError] = useState<{ e: unknown } | null>(null);
  const [epoch, setEpoch] = useState(0);

  const fills = [...fetchedFills, ...orders].filter(
    (o, i, all) => o.ticker_id === tickerId && o.status === 'FILLED' && all.findIndex((x) => x.id === o.id) === i,
  );
  const fillsKey = fills.map((o) => o.id).join(',');

  function pick(next: CandleInterval) {
    localStorage.setItem(INTERVAL_KEY, next);
    setChartInterval(next);
  }

  function draw(list: VBar[]) {
    bars.current = list;
    setBarCount(list.length);
    series.current?.setData(list.map(asSeries));
    const colors = upDownColors();
    volume.current?.setData(list.map((b) => volumePoint(b, colors)));
  }

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
    const v = c.addSeries(HistogramSeries, { priceFormat: { type: 'volume' }, priceLineVisible: false, lastValueVisible: false }, 1);
    c.panes()[1]?.setHeight(70);
    chart.current = c;
    series.current = s;
    volume.current = v;
    markers.current = createSeriesMarkers(s, []);
    if (bars.current.length) draw(bars.current);
    // Near the left edge: load the bars before the oldest one shown.
    const onRange = (range: { from: number; to: number } | null) => {
      if (!range || range.from > 10 || older.current.loading || older.current.exhausted || !bars.current.length) return;
      older.current.loading = true;
      const oldest = new Date(bars.current[0].time * 1000).toISOString();
      const asked = { tickerId, interval: intervalRef.current };
      api
        .candles(tickerId, PAGE, asked.interval, oldest)
        .then((list) => {
          if (asked.interval !== intervalRef.current || series.current !== s) return;
          const got = list.map(toVBar).filter((b): b is VBar => b !== null);
          if (got.length === 0) {
            older.current.exhausted = true;
            return;
          }
          const before = bars.current.length;
          const shown = c.timeScale().getVisibleLogicalRange();
          draw(joinBars(got, bars.current));
          const added = bars.current.length - before;
          if (shown) c.timeScale().setVisibleLogicalRange({ from: shown.from + added, to: shown.to + added });
        })
        .catch(() => {})
        .finally(() => {
          older.current.loading = false;
        });
    };
    c.timeScale().subscribeVisibleLogicalRangeChange(onRange);
    return () => {
      c.timeScale().unsubscribeVisibleLogicalRangeChange(onRange);
      c.remove();
      chart.current = null;
      series.current = null;
      volume.current = null;
      markers.current = null;
    };
  }, [tickerId, lang, theme]);

  // History of the chosen timeframe.
  useEffect(() => {
    let cancelled = false;
    setError(null);
    older.current = { loading: false, exhausted: false };
    bars.current = []; // a forming bar that arrives while loading is kept below
    api
      .candles(tickerId, PAGE, interval)
      .then((list) => {
        if (cancelled) return;
        const loaded = list.map(toVBar).filter((b): b is VBar => b !== null);
        // Keep a forming 1-minute bar that arrived over the socket while we were loading.
        let merged = loaded;
        const live = bars.current[bars.current.length - 1];
        if (interval === '1m' && live) merged = mergeBar(loaded, live).bars as VBar[];
        const p = precisionFor(currency, merged[merged.length - 1]?.close);
        precision.current = p;
        series.current?.applyOptions({ priceFormat: { type: 'price', precision: p, minMove: 1 / 10 ** p } });
        draw(merged);
        chart.current?.timeScale().scrollToRealTime();
      })
      .catch((e: unknown) => !cancelled && setError({ e }));
    return () => {
      cancelled = true;
    };
  }, [tickerId, currency, epoch, interval]);

  // The user's own fills of this instrument (older ones than the store keeps, too).
  useEffect(() => {
    let cancelled = false;
    api
      .fills(tickerId)
      .then((list) => !cancelled && setFetchedFills(list))
      .catch(() => {});
    return () => {
      cancelled = true;
    };
  }, [tickerId]);
  useEffect(() => {
    markers.current?.setMarkers(fillMarkers(bars.current, fills, lang));
  }, [fillsKey, barCount, lang, theme]);

  // Live forming 1-minute bar from candle events.
  useEffect(() => {
    bars.current = [];
    return onCandle(tickerId, (c) => {
      if (intervalRef.current !== '1m') return;
      const bar = toVBar(c);
      if (!bar) return;
      lastCandleEvent.current = Date.now();
      const r = mergeBar(bars.current, bar);
      if (!r.applied) return;
      bars.current = r.bars as VBar[];
      series.current?.update(asSeries(bar));
      volume.current?.update(volumePoint(bar));
    });
  }, [tickerId]);

  // Otherwise fold live quotes into the forming bar (a new 1-minute bar when one is due).
  useEffect(() => {
    const last = bars.current[bars.current.length - 1];
    const at = parseTime(quote?.ts);
    if (!quote || !last || !at) return;
    if (interval === '1m' && Date.now() - lastCandleEvent.current < 5000) return;
    const p = Number(quote.price);
    const t = Math.floor(at.getTime() / 1000);
    const span = INTERVAL_SECONDS[interval];
    let bar: VBar;
    if (t < last.time) return;
    if (t < last.time + span) bar = { ...last, high: Math.max(last.high, p), low: Math.min(last.low, p), close: p };
    else if (interval === '1m') bar = { time: Math.floor(t / 60) * 60, open: last.close, high: Math.max(last.close, p), low: Math.min(last.close, p), close: p, volume: 0 };
    else return; // a new day or week starts on the market's calendar: the next reload has it
    bars.current = mergeBar(bars.current, bar).bars as VBar[];
    series.current?.update(asSeries(bar));
  }, [quote, tickerId, interval]);

  return (
    <div className="chart-wrap" data-interval={interval} data-bars={barCount} data-fills={fills.length}>
      <Timeframes value={interval} onChange={pick} />
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
