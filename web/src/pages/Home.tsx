/**
 * Home: equity, cash (with what open orders hold and what is available), today's and total
 * P&L, live positions (with the quantity open sells hold) and the equity-over-time chart.
 */
import { lazy, memo, Suspense, useMemo } from 'react';
import { Change, dirClass, Empty, Flash, InstrumentLabel, Loading } from '../components/common';
import { dec, decOrNull, div, mul, sub, toPlain } from '../lib/decimal';
import { krw, krwSigned, price, qty, fixed } from '../lib/format';
import type { Position } from '../lib/types';
import { useLivePortfolio, useSubscription, useT } from '../state/hooks';
import { pnlSummary } from '../state/logic';
import { useStore } from '../state/store';

const EquityChart = lazy(() => import('../components/EquityChart'));

function positionPct(p: Position): string | null {
  const value = decOrNull(p.market_value_krw);
  const pnl = decOrNull(p.unrealized_pnl_krw);
  if (value === null || pnl === null) return null;
  const cost = sub(value, pnl);
  if (cost <= 0n) return null;
  return toPlain(div(mul(pnl, dec(100)), cost));
}

const PositionRow = memo(function PositionRow({ p }: { p: Position }) {
  const lang = useStore((s) => s.lang);
  const t = useT();
  return (
    <a className="pos-row" href={`#/i/${encodeURIComponent(p.ticker_id)}`} data-testid={`position-${p.ticker_id}`}>
      <span className="c-name"><InstrumentLabel tickerId={p.ticker_id} /></span>
      <span className="c-qty num" data-label={t('pos.quantity')}>
        {qty(p.quantity)}
        {p.reserved_quantity && p.reserved_quantity !== '0' && (
          <small className="held" data-testid="position-held">
            {t('pos.held', { reserved: qty(p.reserved_quantity), available: qty(p.available_quantity ?? '0') })}
          </small>
        )}
      </span>
      <span className="c-avg num" data-label={t('pos.avg')}>{price(p.average_price, p.currency, lang)}</span>
      <span className="c-last" data-label={t('pos.last')}>
        <Flash value={p.last_price}>{price(p.last_price, p.currency, lang)}</Flash>
      </span>
      <span className="c-fx num muted" data-label={t('pos.fx')}>{p.currency === 'USD' ? fixed(p.fx_rate, 2) : '—'}</span>
      <span className="c-value num" data-label={t('pos.value')} title={p.market_value_krw}>{krw(p.market_value_krw, lang)}</span>
      <span className={`c-pnl num ${dirClass(p.unrealized_pnl_krw)}`} data-label={t('pos.pnl')} title={p.unrealized_pnl_krw}>
        {krwSigned(p.unrealized_pnl_krw, lang)}
        <small><Change value={positionPct(p)} /></small>
      </span>
    </a>
  );
});

export function HomePage() {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const me = useStore((s) => s.me);
  const history = useStore((s) => s.history);
  const serverPortfolio = useStore((s) => s.portfolio);
  const portfolio = useLivePortfolio();
  const tickers = useMemo(() => portfolio?.positions.map((p) => p.ticker_id) ?? [], [portfolio?.positions]);
  useSubscription(tickers);

  const summary = useMemo(
    () => (portfolio && serverPortfolio ? pnlSummary(portfolio, serverPortfolio) : null),
    [portfolio, serverPortfolio],
  );

  if (!portfolio || !summary) return <Loading />;
  const positions = [...portfolio.positions].sort((a, b) => Number(b.market_value_krw) - Number(a.market_value_krw));

  return (
    <div className="page home">
      <h1 className="page-title">{me ? t('home.hello', { name: me.nickname }) : t('nav.home')}</h1>
      <section className="summary card">
        <div className="equity">
          <span className="label">{t('home.equity')}</span>
          <Flash value={portfolio.equity_krw} className="big-num">
            <span data-testid="equity" title={portfolio.equity_krw}>{krw(portfolio.equity_krw, lang)}</span>
          </Flash>
          {summary.total !== null && (
            <span className={`sub ${dirClass(summary.total)}`}>
              {krwSigned(summary.total, lang)} <Change value={summary.totalPct} />
            </span>
          )}
        </div>
        <dl className="stats">
          <div>
            <dt>{t('home.cash')}</dt>
            <dd className="num" data-testid="cash" title={portfolio.cash_krw}>{krw(portfolio.cash_krw, lang)}</dd>
          </div>
          {portfolio.available_cash_krw !== undefined && (
            <div>
              <dt>{t('home.available')}</dt>
              <dd className="num" data-testid="available-cash" title={portfolio.available_cash_krw}>
                {krw(portfolio.available_cash_krw, lang)}
                {portfolio.reserved_cash_krw && portfolio.reserved_cash_krw !== '0' && (
                  <small data-testid="reserved-cash" title={portfolio.reserved_cash_krw}>
                    {t('home.reserved')} {krw(portfolio.reserved_cash_krw, lang)}
                  </small>
                )}
              </dd>
            </div>
          )}
          <div>
            <dt>{t('home.invested')}</dt>
            <dd className="num">{krw(summary.invested, lang)}</dd>
          </div>
          <div>
            <dt>{t('home.today')}</dt>
            <dd className={`num ${dirClass(summary.today)}`} data-testid="pnl-today">
              {krwSigned(summary.today, lang)} {summary.todayPct !== null && <small><Change value={summary.todayPct} /></small>}
            </dd>
          </div>
          <div>
            <dt>{t('home.total')}</dt>
            <dd className={`num ${dirClass(summary.total)}`} data-testid="pnl-total">
              {krwSigned(summary.total, lang)} {summary.totalPct !== null && <small><Change value={summary.totalPct} /></small>}
            </dd>
          </div>
        </dl>
      </section>

      <section className="card chart-card">
        <h2>{t('home.chart')}</h2>
        {history.length >= 2 ? (
          <Suspense fallback={<div className="chart-box small" />}>
            <EquityChart history={history} />
          </Suspense>
        ) : (
          <p className="muted" data-testid="equity-chart-empty">{t('home.chartEmpty')}</p>
        )}
      </section>

      <section className="card">
        <h2>{t('home.positions')}</h2>
        {positions.length === 0 ? (
          <Empty action={<a className="button primary" href="#/markets">{t('home.goMarkets')}</a>}>{t('home.noPositions')}</Empty>
        ) : (
          <div className="positions" data-testid="positions">
            <div className="pos-row head">
              <span className="c-name">{t('pos.instrument')}</span>
              <span className="c-qty">{t('pos.quantity')}</span>
              <span className="c-avg">{t('pos.avg')}</span>
              <span className="c-last">{t('pos.last')}</span>
              <span className="c-fx">{t('pos.fx')}</span>
              <span className="c-value">{t('pos.value')}</span>
              <span className="c-pnl">{t('pos.pnl')}</span>
            </div>
            {positions.map((p) => (
              <PositionRow key={p.ticker_id} p={p} />
            ))}
          </div>
        )}
      </section>
    </div>
  );
}
