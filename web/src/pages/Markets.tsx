/**
 * Markets: every instrument with its live price and change, market open/closed badges, search
 * (초성 too: ㅅㅅ finds 삼성전자), sorting by change, volume or traded value, and a watchlist
 * (관심종목) kept in this browser.
 */
import { memo, useEffect, useMemo, useState } from 'react';
import { Change, Empty, Flash, InstrumentLabel, Loading, MarketBadge, TabList, tabPanelProps } from '../components/common';
import {
  loadWatchlist,
  matches,
  type SortDir,
  type SortKey,
  sortInstruments,
  sortValue,
  toggleWatch,
} from '../components/marketList';
import '../components/depth.css';
import { api } from '../lib/api';
import { fixed, priceBare, qty } from '../lib/format';
import type { Instrument, MarketStats } from '../lib/types';
import { loadInstruments } from '../state/actions';
import { useNow, useSubscription, useT } from '../state/hooks';
import { changePct, marketStatuses, msUntilNextBoundary } from '../state/logic';
import { useStore } from '../state/store';

const WORDS = {
  ko: { watch: '관심종목', add: '관심종목에 넣기', remove: '관심종목에서 빼기', noWatch: '별을 눌러 관심종목을 모아 보세요.',
        sort: '정렬', default: '기본', change: '등락률', volume: '거래량', value: '거래대금' },
  en: { watch: 'Watchlist', add: 'Add to watchlist', remove: 'Remove from watchlist', noWatch: 'Star instruments to collect them here.',
        sort: 'Sort', default: 'Default', change: 'Change', volume: 'Volume', value: 'Traded value' },
}; // fmt: skip

const Row = memo(function Row({
  inst,
  watched,
  onWatch,
  stats,
  showing,
}: {
  inst: Instrument;
  watched: boolean;
  onWatch: (tickerId: string) => void;
  stats: MarketStats | undefined;
  showing: SortKey;
}) {
  const q = useStore((s) => s.quotes[inst.ticker_id]);
  const lang = useStore((s) => s.lang);
  const t = useT();
  const unit = inst.currency === 'USD' ? '$' : '';
  const words = WORDS[lang];
  const extra =
    showing === 'volume' && stats ? qty(stats.volume) : showing === 'value' && stats ? unit + fixed(stats.traded_value, 0) : null;
  return (
    <div className="mkt-item">
      <button
        type="button"
        className="star"
        aria-pressed={watched}
        aria-label={`${watched ? words.remove : words.add}: ${inst.name_ko && lang === 'ko' ? inst.name_ko : inst.name}`}
        onClick={() => onWatch(inst.ticker_id)}
        data-testid={`watch-${inst.ticker_id}`}
      >
        {watched ? '★' : '☆'}
      </button>
      <a className="mkt-row" href={`#/i/${encodeURIComponent(inst.ticker_id)}`} data-testid={`row-${inst.ticker_id}`}>
        <InstrumentLabel tickerId={inst.ticker_id} />
        <span className="mkt-price">
          <Flash value={q?.price}>
            <span data-testid={`price-${inst.ticker_id}`}>{q ? unit + priceBare(q.price, inst.currency) : '—'}</span>
          </Flash>
          {q?.stale && <span className="tag warn">{t('markets.stale')}</span>}
          {extra !== null && <span className="muted mkt-extra">{extra}</span>}
        </span>
        <span className="mkt-change">
          <Change value={changePct(q)} pill />
        </span>
      </a>
    </div>
  );
});

const FILTER = ['ALL', 'WATCH', 'KRX', 'US', 'CRYPTO'] as const;
type Filter = (typeof FILTER)[number];
const SORTS: readonly SortKey[] = ['default', 'change', 'volume', 'value'];

export function MarketsPage() {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const words = WORDS[lang];
  const instruments = useStore((s) => s.instruments);
  const quotes = useStore((s) => s.quotes);
  const usdKrw = useStore((s) => s.usdKrw);
  const [query, setQuery] = useState('');
  const [market, setMarket] = useState<Filter>(() => (sessionStorage.getItem('pt.market') as Filter) || 'ALL');
  const [watchlist, setWatchlist] = useState<string[]>(() => loadWatchlist());
  const [sort, setSort] = useState<{ key: SortKey; dir: SortDir }>({ key: 'default', dir: 'desc' });
  const [stats, setStats] = useState<Record<string, MarketStats>>({});
  const now = useNow(30000);
  useSubscription(['*']);

  // Volume and traded value of each instrument's latest day, refreshed every minute.
  useEffect(() => {
    let cancelled = false;
    const load = () =>
      api
        .marketStats()
        .then((list) => !cancelled && setStats(Object.fromEntries(list.map((s) => [s.ticker_id, s]))))
        .catch(() => {});
    void load();
    const id = setInterval(load, 60000);
    return () => {
      cancelled = true;
      clearInterval(id);
    };
  }, []);

  const statuses = useMemo(() => marketStatuses(instruments), [instruments]);
  const rate = usdKrw ? Number(usdKrw.rate) : null;
  const list = useMemo(() => {
    const found = instruments.filter(
      (i) =>
        (market === 'ALL' || (market === 'WATCH' ? watchlist.includes(i.ticker_id) : i.market === market)) &&
        matches(i, query),
    );
    return sortInstruments(found, sort.key, sort.dir, (i) => sortValue(sort.key, i, quotes[i.ticker_id], stats[i.ticker_id], rate));
  }, [instruments, query, market, watchlist, sort, quotes, stats, rate]);

  function watch(tickerId: string) {
    setWatchlist((current) => toggleWatch(current, tickerId));
  }

  function sortBy(key: SortKey) {
    setSort((current) => ({ key, dir: current.key === key && current.dir === 'desc' ? 'asc' : 'desc' }));
  }

  const row = (i: Instrument) => (
    <Row key={i.ticker_id} inst={i} watched={watchlist.includes(i.ticker_id)} onWatch={watch} stats={stats[i.ticker_id]} showing={sort.key} />
  );

  // Re-read open/closed flags right after the next market open or close.
  useEffect(() => {
    const ms = msUntilNextBoundary(statuses, now);
    if (ms === null || ms > 6 * 3600 * 1000) return;
    const id = setTimeout(() => void loadInstruments().catch(() => {}), ms + 1500);
    return () => clearTimeout(id);
  }, [statuses, now]);

  function pick(m: Filter) {
    setMarket(m);
    sessionStorage.setItem('pt.market', m);
  }

  return (
    <div className="page markets">
      <div className="page-head">
        <h1 className="page-title">{t('markets.title')}</h1>
        {usdKrw && (
          <span className="fx-chip" data-testid="fx">
            {t('markets.fx')} <b className="num">{fixed(usdKrw.rate, 2)}</b>
          </span>
        )}
      </div>
      {market !== 'ALL' && market !== 'WATCH' && (
        <div className="badges">
          {statuses
            .filter((s) => s.market === market)
            .map((s) => (
              <MarketBadge key={s.market} status={s} compact />
            ))}
        </div>
      )}
      <div className="toolbar">
        <input
          type="search"
          className="search"
          placeholder={t('markets.search')}
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          aria-label={t('markets.search')}
          data-testid="search"
        />
        <TabList
          className="segmented"
          items={FILTER}
          selected={market}
          onSelect={pick}
          label={t('markets.title')}
          idPrefix="market-tab"
          render={(m) => (m === 'ALL' ? t('markets.all') : m === 'WATCH' ? words.watch : t(`markets.${m}`))}
        />
      </div>
      <div className="mkt-sort" role="group" aria-label={words.sort}>
        {SORTS.map((key) => (
          <button
            key={key}
            type="button"
            className={sort.key === key ? 'tf on' : 'tf'}
            aria-pressed={sort.key === key}
            onClick={() => sortBy(key)}
            data-testid={`sort-${key}`}
          >
            {words[key]}
            {sort.key === key && key !== 'default' ? (sort.dir === 'desc' ? ' ↓' : ' ↑') : ''}
          </button>
        ))}
      </div>
      <div {...tabPanelProps('market-tab', market)} className="tab-panel">
      {instruments.length === 0 ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty>{market === 'WATCH' && !query ? words.noWatch : t('markets.none')}</Empty>
      ) : (
        <div className="card list">
          <div className="mkt-row head">
            <span>{t('markets.name')}</span>
            <span className="mkt-price">{t('markets.price')}</span>
            <span className="mkt-change">{t('markets.change')}</span>
          </div>
          {market === 'ALL' && sort.key === 'default'
            ? // Open markets first: what is moving now is what a player wants to see.
              [...statuses].sort((a, b) => Number(b.isOpen) - Number(a.isOpen)).map((st) => {
                const rows = list.filter((i) => i.market === st.market);
                if (!rows.length) return null;
                return (
                  <section key={st.market} data-testid={`section-${st.market}`}>
                    <h2 className="mkt-section">
                      {t(`markets.${st.market}`)} <MarketBadge status={st} />
                    </h2>
                    {rows.map(row)}
                  </section>
                );
              })
            : list.map(row)}
        </div>
      )}
      </div>
    </div>
  );
}
