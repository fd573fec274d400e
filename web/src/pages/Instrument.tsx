/** One instrument: live quote, candlestick chart with timeframes, order ticket, order book and its recent orders. */
import { useEffect, useMemo, useState } from 'react';
import { CandleChart } from '../components/CandleChart';
import { Avatar, Change, displayName, Empty, Flash, Loading, MarketBadge } from '../components/common';
import { OrderBook } from '../components/OrderBook';
import { OrderTicket } from '../components/OrderTicket';
import { OrderList } from './Orders';
import { ApiError, api } from '../lib/api';
import { clock, dateTime, parseTime, price } from '../lib/format';
import { useSubscription, useT } from '../state/hooks';
import { changePct, marketStatuses, symbolOf } from '../state/logic';
import { useStore, setState } from '../state/store';
import { applyQuotes } from '../state/logic';

export default function InstrumentPage({ tickerId }: { tickerId: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inst = useStore((s) => s.instrumentsById[tickerId]);
  const loaded = useStore((s) => s.instruments.length > 0);
  const q = useStore((s) => s.quotes[tickerId]);
  const orders = useStore((s) => s.orders);
  const [missing, setMissing] = useState(false);
  useSubscription([tickerId]);

  // A direct link may arrive before the quote list: fetch this one quote now.
  useEffect(() => {
    setMissing(false);
    api
      .quote(tickerId)
      .then((quote) => setState((s) => ({ quotes: applyQuotes(s.quotes, [quote]) })))
      .catch((e) => {
        if (e instanceof ApiError && e.status === 404) setMissing(true);
      });
  }, [tickerId]);

  const status = useMemo(() => (inst ? marketStatuses([inst])[marketIndex(inst.market)] : null), [inst]);
  const mine = useMemo(() => orders.filter((o) => o.ticker_id === tickerId).slice(0, 10), [orders, tickerId]);

  if (missing || (loaded && !inst)) {
    return (
      <div className="page">
        <Empty action={<a className="button" href="#/markets">{t('inst.back')}</a>}>{t('inst.notFound')} ({tickerId})</Empty>
      </div>
    );
  }
  if (!inst || !status) return <Loading />;
  const ts = parseTime(q?.ts);

  return (
    <div className="page instrument">
      <a className="back" href="#/markets">‹ {t('inst.back')}</a>
      <header className="inst-head">
        <Avatar inst={inst} tickerId={tickerId} />
        <div className="inst-title">
          <h1>{displayName(inst, tickerId, lang)}</h1>
          <span className="muted">
            {symbolOf(tickerId)} · {inst.exchange} · {inst.currency === 'KRW-COIN' ? 'KRW' : inst.currency}
          </span>
        </div>
        <MarketBadge status={status} />
      </header>

      <section className="quote-strip">
        <div className="last">
          <Flash value={q?.price} className="big-num">
            <span data-testid="last-price">{q ? price(q.price, inst.currency, lang) : '—'}</span>
          </Flash>
          <Change value={changePct(q)} pill />
          {q?.stale && <span className="tag warn">{t('markets.stale')}</span>}
        </div>
        <dl className="mini-stats">
          <div><dt>{t('inst.bid')}</dt><dd className="num">{price(q?.bid, inst.currency, lang)}</dd></div>
          <div><dt>{t('inst.ask')}</dt><dd className="num">{price(q?.ask, inst.currency, lang)}</dd></div>
          <div><dt>{t('inst.prevClose')}</dt><dd className="num">{price(q?.prev_close, inst.currency, lang)}</dd></div>
          <div><dt>{t('inst.updated')}</dt><dd className="num" title={q ? dateTime(q.ts, lang) : ''}>{ts ? clock(ts, lang) : '—'}</dd></div>
        </dl>
      </section>

      <div className="inst-grid">
        <section className="card chart-card">
          <h2>{t('inst.chart')}</h2>
          <CandleChart key={tickerId} tickerId={tickerId} currency={inst.currency} />
        </section>
        <OrderTicket key={tickerId} inst={inst} quote={q} isOpen={status.isOpen} />
        <OrderBook key={`book-${tickerId}`} tickerId={tickerId} currency={inst.currency} />
      </div>

      {mine.length > 0 && (
        <section className="card">
          <h2>{t('orders.title')}</h2>
          <OrderList orders={mine} compact />
        </section>
      )}
    </div>
  );
}

function marketIndex(m: string): number {
  return m === 'KRX' ? 0 : m === 'US' ? 1 : 2;
}
