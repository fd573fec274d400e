/** Order history: status, fill price, totals, fee, the failure reason in words, cancel for pending. */
import { memo, useEffect, useMemo, useState } from 'react';
import { displayName, Empty, Loading, TabList, tabPanelProps } from '../components/common';
import { krw, price, qty, shortDateTime, dateTime } from '../lib/format';
import { errorMessage, reasonText } from '../lib/i18n';
import type { Order, OrderStatus } from '../lib/types';
import { cancelOrder, refreshOrders, toast } from '../state/actions';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';

const OrderRow = memo(function OrderRow({ o, compact }: { o: Order; compact: boolean }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inst = useStore((s) => s.instrumentsById[o.ticker_id]);
  const [busy, setBusy] = useState(false);
  const reason = o.status === 'FAILED' || o.status === 'CANCELLED' ? reasonText(lang, o.reason, o.reason_text) : null;

  async function cancel() {
    setBusy(true);
    try {
      await cancelOrder(o.id);
      toast('info', t('orders.cancelled'));
    } catch (e) {
      toast('error', t('orders.cancelFailed', { detail: errorMessage(lang, e).text }));
      void refreshOrders().catch(() => {});
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className={`order-row status-${o.status.toLowerCase()}${compact ? ' compact' : ''}`} data-testid="order-row" data-status={o.status} data-ticker={o.ticker_id}>
      <span className="o-time muted" title={dateTime(o.created_at, lang)}>{shortDateTime(o.created_at, lang)}</span>
      <a className="o-name" href={`#/i/${encodeURIComponent(o.ticker_id)}`}>{displayName(inst, o.ticker_id, lang)}</a>
      <span className={`o-side ${o.side === 'BUY' ? 'buy' : 'sell'}`}>
        {t(o.side === 'BUY' ? 'common.buy' : 'common.sell')}
        <small>{t(o.type === 'MARKET' ? 'ticket.market' : 'ticket.limit')}</small>
      </span>
      <span className="o-qty num" data-label={t('orders.qty')}>{qty(o.quantity)}</span>
      <span className="o-price num" data-label={o.price ? t('orders.fill') : o.limit_price ? t('orders.limit') : undefined}>
        {o.price ? price(o.price, o.currency, lang) : o.limit_price ? price(o.limit_price, o.currency, lang) : '—'}
      </span>
      <span className="o-total num" title={o.total_krw ?? ''}>
        {o.total_krw ? krw(o.total_krw, lang) : ''}
        {o.total_krw && o.fee_krw && <small>{t('orders.fee')} {krw(o.fee_krw, lang)}</small>}
      </span>
      <span className="o-status">
        <span className={`status ${o.status.toLowerCase()}`} data-testid="order-status">{t(`orders.${o.status}`)}</span>
        {o.status === 'PENDING' && (
          <button className="ghost small danger" onClick={cancel} disabled={busy} data-testid="cancel-order">
            {t('orders.cancel')}
          </button>
        )}
      </span>
      {reason && (
        <span className="o-reason" data-testid="order-reason">
          {reason}
        </span>
      )}
    </div>
  );
});

export function OrderList({ orders, compact = false }: { orders: Order[]; compact?: boolean }) {
  const t = useT();
  return (
    <div className="orders-list">
      {!compact && (
        <div className="order-row head" aria-hidden>
          <span>{t('orders.time')}</span>
          <span>{t('orders.instrument')}</span>
          <span>{t('orders.side')}</span>
          <span className="r">{t('orders.qty')}</span>
          <span className="r">{t('orders.fill')} / {t('orders.limit')}</span>
          <span className="r">{t('orders.total')}</span>
          <span className="r">{t('orders.status')}</span>
        </div>
      )}
      {orders.map((o) => (
        <OrderRow key={o.id} o={o} compact={compact} />
      ))}
    </div>
  );
}

const FILTERS: Array<OrderStatus | 'ALL'> = ['ALL', 'PENDING', 'FILLED', 'FAILED', 'CANCELLED'];

export function OrdersPage() {
  const t = useT();
  const orders = useStore((s) => s.orders);
  const loaded = useStore((s) => s.ordersLoaded);
  const [filter, setFilter] = useState<OrderStatus | 'ALL'>('ALL');
  useEffect(() => {
    void refreshOrders().catch(() => {});
  }, []);
  const shown = useMemo(() => (filter === 'ALL' ? orders : orders.filter((o) => o.status === filter)), [orders, filter]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const o of orders) c[o.status] = (c[o.status] ?? 0) + 1;
    return c;
  }, [orders]);

  return (
    <div className="page orders">
      <h1 className="page-title">{t('orders.title')}</h1>
      <TabList
        className="segmented scroll"
        items={FILTERS}
        selected={filter}
        onSelect={setFilter}
        label={t('orders.status')}
        idPrefix="orders-tab"
        render={(f) => (
          <>
            {f === 'ALL' ? t('orders.all') : t(`orders.${f}`)}
            {f !== 'ALL' && counts[f] ? <span className="count">{counts[f]}</span> : null}
          </>
        )}
      />
      <div {...tabPanelProps('orders-tab', filter)} className="tab-panel">
        {!loaded ? (
          <Loading />
        ) : shown.length === 0 ? (
          <Empty action={<a className="button" href="#/markets">{t('home.goMarkets')}</a>}>{t('orders.none')}</Empty>
        ) : (
          <section className="card">
            <OrderList orders={shown} />
          </section>
        )}
      </div>
    </div>
  );
}
