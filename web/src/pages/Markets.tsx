/** Markets: every instrument with its live price and change, market open/closed badges, search. */
import { memo, useEffect, useMemo, useState } from 'react';
import { Change, Empty, Flash, InstrumentLabel, Loading, MarketBadge, TabList, tabPanelProps } from '../components/common';
import { fixed, priceBare } from '../lib/format';
import type { Instrument, Market } from '../lib/types';
import { loadInstruments } from '../state/actions';
import { useNow, useSubscription, useT } from '../state/hooks';
import { changePct, filterInstruments, marketStatuses, msUntilNextBoundary } from '../state/logic';
import { useStore } from '../state/store';

const Row = memo(function Row({ inst }: { inst: Instrument }) {
  const q = useStore((s) => s.quotes[inst.ticker_id]);
  const t = useT();
  const unit = inst.currency === 'USD' ? '$' : '';
  return (
    <a className="mkt-row" href={`#/i/${encodeURIComponent(inst.ticker_id)}`} data-testid={`row-${inst.ticker_id}`}>
      <InstrumentLabel tickerId={inst.ticker_id} />
      <span className="mkt-price">
        <Flash value={q?.price}>
          <span data-testid={`price-${inst.ticker_id}`}>{q ? unit + priceBare(q.price, inst.currency) : '—'}</span>
        </Flash>
        {q?.stale && <span className="tag warn">{t('markets.stale')}</span>}
      </span>
      <span className="mkt-change">
        <Change value={changePct(q)} pill />
      </span>
    </a>
  );
});

const FILTER = ['ALL', 'KRX', 'US', 'CRYPTO'] as const;

export function MarketsPage() {
  const t = useT();
  const instruments = useStore((s) => s.instruments);
  const usdKrw = useStore((s) => s.usdKrw);
  const [query, setQuery] = useState('');
  const [market, setMarket] = useState<Market | 'ALL'>(() => (sessionStorage.getItem('pt.market') as Market | 'ALL') || 'ALL');
  const now = useNow(30000);
  useSubscription(['*']);

  const statuses = useMemo(() => marketStatuses(instruments), [instruments]);
  const list = useMemo(() => filterInstruments(instruments, query, market), [instruments, query, market]);

  // Re-read open/closed flags right after the next market open or close.
  useEffect(() => {
    const ms = msUntilNextBoundary(statuses, now);
    if (ms === null || ms > 6 * 3600 * 1000) return;
    const id = setTimeout(() => void loadInstruments().catch(() => {}), ms + 1500);
    return () => clearTimeout(id);
  }, [statuses, now]);

  function pick(m: Market | 'ALL') {
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
      {market !== 'ALL' && (
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
          render={(m) => (m === 'ALL' ? t('markets.all') : t(`markets.${m}`))}
        />
      </div>
      <div {...tabPanelProps('market-tab', market)} className="tab-panel">
      {instruments.length === 0 ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty>{t('markets.none')}</Empty>
      ) : (
        <div className="card list">
          <div className="mkt-row head">
            <span>{t('markets.name')}</span>
            <span className="mkt-price">{t('markets.price')}</span>
            <span className="mkt-change">{t('markets.change')}</span>
          </div>
          {market === 'ALL'
            ? // Open markets first: what is moving now is what a player wants to see.
              [...statuses].sort((a, b) => Number(b.isOpen) - Number(a.isOpen)).map((st) => {
                const rows = list.filter((i) => i.market === st.market);
                if (!rows.length) return null;
                return (
                  <section key={st.market} data-testid={`section-${st.market}`}>
                    <h2 className="mkt-section">
                      {t(`markets.${st.market}`)} <MarketBadge status={st} />
                    </h2>
                    {rows.map((i) => (
                      <Row key={i.ticker_id} inst={i} />
                    ))}
                  </section>
                );
              })
            : list.map((i) => <Row key={i.ticker_id} inst={i} />)}
        </div>
      )}
      </div>
    </div>
  );
}
