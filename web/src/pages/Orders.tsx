/**
 * Order history: type and time in force, stop and limit, filled of ordered, average price,
 * status (부분체결 included), totals and the reason in words; 정정 and 취소 for open orders; a link
 * to each order's receipts (fills, "why this price", events). The 미체결 tab asks the server for
 * every open order (status=open), not only the latest ones.
 */
import { memo, useEffect, useMemo, useState } from 'react';
import { displayName, Empty, Loading, TabList, tabPanelProps } from '../components/common';
import { ModifyOrder } from '../components/ModifyOrder';
import { krw, price, qty, shortDateTime, dateTime } from '../lib/format';
import { errorMessage, reasonText } from '../lib/i18n';
import { type Order, type OrderStatus, OPEN } from '../lib/types';
import { cancelOrder, refreshOrders, toast } from '../state/actions';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';

/** Cancel an open order, saying what happened; shared by the list and the detail view. */
export function useCancel(id: string): { busy: boolean; cancel: () => Promise<void> } {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const [busy, setBusy] = useState(false);
  async function cancel() {
    setBusy(true);
    try {
      await cancelOrder(id);
      toast('info', t('orders.cancelled'));
    } catch (e) {
      toast('error', t('orders.cancelFailed', { detail: errorMessage(lang, e).text }));
      void refreshOrders().catch(() => {});
    } finally {
      setBusy(false);
    }
  }
  return { busy, cancel };
}

/** "3 / 10" for a partly filled order, the quantity otherwise ("—" for an amount order not yet filled). */
export function filledOf(o: Order): string {
  if (o.quantity === null) return '—';
  if (o.status === 'PARTIALLY_FILLED' && o.filled_quantity) return `${qty(o.filled_quantity)} / ${qty(o.quantity)}`;
  return qty(o.quantity);
}

const OrderRow = memo(function OrderRow({ o, compact }: { o: Order; compact: boolean }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const inst = useStore((s) => s.instrumentsById[o.ticker_id]);
  const [editing, setEditing] = useState(false);
  const { busy, cancel } = useCancel(o.id);
  const reason = o.status === 'FAILED' || o.status === 'CANCELLED' ? reasonText(lang, o.reason, o.reason_text) : null;
  const open = OPEN.has(o.status);
  const filled = o.average_price ?? o.price;
  const p = (v: string | null | undefined) => price(v ?? null, o.currency, lang);

  return (
    <div className={`order-row status-${o.status.toLowerCase()}${compact ? ' compact' : ''}`} data-testid="order-row" data-status={o.status} data-type={o.type} data-ticker={o.ticker_id} data-id={o.id}>
      <span className="o-time muted" title={dateTime(o.created_at, lang)}>{shortDateTime(o.created_at, lang)}</span>
      <a className="o-name" href={`#/i/${encodeURIComponent(o.ticker_id)}`}>{displayName(inst, o.ticker_id, lang)}</a>
      <span className={`o-side ${o.side === 'BUY' ? 'buy' : 'sell'}`}>
        {t(o.side === 'BUY' ? 'common.buy' : 'common.sell')}
        <small data-testid="order-type">
          {t(`type.${o.type}`)}
          {o.time_in_force ? ` · ${t(`tif.${o.time_in_force}`)}` : ''}
        </small>
      </span>
      <span className="o-qty num" data-label={o.status === 'PARTIALLY_FILLED' ? t('orders.filledOf') : t('orders.qty')} data-testid="order-qty">
        {o.quantity === null && o.amount_krw ? krw(o.amount_krw, lang) : filledOf(o)}
      </span>
      <span className="o-price num">
        {filled ? (
          <span data-label={o.average_price ? t('orders.avg') : t('orders.fill')}>{p(filled)}</span>
        ) : (
          <>
            {o.stop_price && <span data-label={t('orders.stop')} data-testid="order-stop">{p(o.stop_price)}</span>}
            {o.limit_price && <span data-label={t('orders.limit')}>{p(o.limit_price)}</span>}
            {!o.stop_price && !o.limit_price && '—'}
          </>
        )}
      </span>
      <span className="o-total num" title={o.total_krw ?? ''}>
        {o.total_krw && o.total_krw !== '0' ? krw(o.total_krw, lang) : ''}
        {o.total_krw && o.total_krw !== '0' && o.fee_krw && <small>{t('orders.fee')} {krw(o.fee_krw, lang)}</small>}
      </span>
      <span className="o-status">
        <span className={`status ${o.status.toLowerCase()}`} data-testid="order-status">{t(`orders.${o.status}`)}</span>
        <a className="button ghost small" href={`#/orders/${encodeURIComponent(o.id)}`} data-testid="order-detail" aria-label={`${t('orders.detail')}: ${displayName(inst, o.ticker_id, lang)} ${shortDateTime(o.created_at, lang)}`}>
          {t('orders.detail')}
        </a>
      </span>
      {open && (
        <span className="o-actions">
          <button className="ghost small" onClick={() => setEditing(!editing)} aria-expanded={editing} data-testid="modify-order">
            {t('orders.modify')}
          </button>
          <button className="ghost small danger" onClick={cancel} disabled={busy} data-testid="cancel-order">
            {t('orders.cancel')}
          </button>
        </span>
      )}
      {reason && (
        <span className="o-reason" data-testid="order-reason">
          {reason}
        </span>
      )}
      {open && editing && (
        <div className="o-modify">
          <ModifyOrder o={o} onDone={() => setEditing(false)} />
        </div>
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
          <span>{t('orders.side')} · {t('orders.type')}</span>
          <span className="r">{t('orders.filledOf')}</span>
          <span className="r">{t('orders.avg')} / {t('orders.stop')} / {t('orders.limit')}</span>
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

type Filter = 'ALL' | 'open' | Exclude<OrderStatus, 'PENDING' | 'PARTIALLY_FILLED'>;
const FILTERS: Filter[] = ['ALL', 'open', 'FILLED', 'FAILED', 'CANCELLED'];

function matches(o: Order, f: Filter): boolean {
  return f === 'ALL' || (f === 'open' ? OPEN.has(o.status) : o.status === f);
}

export function OrdersPage() {
  const t = useT();
  const orders = useStore((s) => s.orders);
  const loaded = useStore((s) => s.ordersLoaded);
  const [filter, setFilter] = useState<Filter>('ALL');
  useEffect(() => {
    void refreshOrders().catch(() => {});
  }, []);
  useEffect(() => {
    if (filter === 'open') void refreshOrders('open').catch(() => {});
  }, [filter]);
  const shown = useMemo(() => orders.filter((o) => matches(o, filter)), [orders, filter]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const o of orders) for (const f of FILTERS) if (f !== 'ALL' && matches(o, f)) c[f] = (c[f] ?? 0) + 1;
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
            {f === 'ALL' ? t('orders.all') : f === 'open' ? t('orders.open') : t(`orders.${f}`)}
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
