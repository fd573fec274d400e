/**
 * One order's receipts (GET /api/orders/{id}): what was asked, where it stands, each fill with
 * "why this price" (the rule in words and the quote it was decided on: bid, ask, source, age)
 * and its costs, and the timeline of its events. 정정 and 취소 while it is open. Re-read when
 * the order changes (a websocket event moved it).
 */
import { useEffect, useState, type ReactNode } from 'react';
import { displayName, Empty, Loading } from '../components/common';
import { ModifyOrder } from '../components/ModifyOrder';
import { ApiError } from '../lib/api';
import { dateTime, fixed, krw, price, qty } from '../lib/format';
import { type Key, errorMessage, feeKindText, reasonText } from '../lib/i18n';
import { type Fill, type OrderDetail, type OrderEvent, OPEN } from '../lib/types';
import { loadOrderDetail } from '../state/actions';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';
import { filledOf, useCancel } from './Orders';

type T = (k: Key, v?: Record<string, string | number>) => string;

function Row({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd className="num" data-testid={testId}>{children}</dd>
    </div>
  );
}

function ruleText(t: T, rule: string): string {
  const key = `rule.${rule}` as Key;
  const s = t(key);
  return s === key ? rule.replace(/_/g, ' ') : s;
}

function FillCard({ f, currency }: { f: Fill; currency: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const p = (v: string | null | undefined) => price(v ?? null, currency, lang);
  const q = f.quote;
  return (
    <li className="fill" data-testid="fill">
      <div className="fill-head">
        <strong className="num">
          {qty(f.quantity)} @ {p(f.price)}
        </strong>
        <span className="muted">{dateTime(f.at, lang)}</span>
      </div>
      <p className="why" data-testid="fill-rule">
        <span className="why-label">{t('detail.why')}</span> {ruleText(t, f.rule)}
      </p>
      {q && <span className="muted tiny">{t('detail.quote')}</span>}
      {q && (
        <dl className="quote-used" aria-label={t('detail.quote')}>
          <Row label={t('detail.last')}>{p(q.price)}</Row>
          <Row label={t('inst.bid')} testId="fill-bid">{p(q.bid)}</Row>
          <Row label={t('inst.ask')} testId="fill-ask">{p(q.ask)}</Row>
          <Row label={t('detail.source')}>{q.source ?? '—'}</Row>
          <Row label={t('detail.quoteTime')}>{q.ts ? dateTime(q.ts, lang) : '—'}</Row>
          {q.age_seconds !== null && q.age_seconds !== undefined && (
            <Row label={t('detail.ageLabel')} testId="fill-age">{t('detail.age', { age: fixed(String(q.age_seconds), 2) })}</Row>
          )}
        </dl>
      )}
      {(!f.levels || f.levels.length === 0) && f.rule.startsWith('marketable_at_') && (
        <p className="muted tiny" data-testid="fill-no-book">{t('detail.noBook')}</p>
      )}
      {f.levels && f.levels.length > 0 && (
        <div className="levels">
          <span className="muted tiny">{t('detail.levels')}</span>
          <ul>
            {f.levels.map((l, i) => (
              <li key={i} className="num">
                {qty(l.size)} @ {p(l.price)}
              </li>
            ))}
          </ul>
        </div>
      )}
      <dl className="preview fees" aria-label={t('detail.fees')}>
        {currency === 'USD' && <Row label={t('detail.rate')}>{fixed(f.rate, 2)}</Row>}
        <Row label={t('orders.total')}>{krw(f.total_krw, lang)}</Row>
        {f.fees.map((x) => (
          <Row key={x.kind} label={feeKindText(lang, x.kind)}>
            <span title={x.amount_krw}>{krw(x.amount_krw, lang)}</span>
          </Row>
        ))}
        <div className="total">
          <dt>{t('detail.feeTotal')}</dt>
          <dd className="num" data-testid="fill-fee" title={f.fee_krw}>{krw(f.fee_krw, lang)}</dd>
        </div>
      </dl>
    </li>
  );
}

function changeText(t: T, e: OrderEvent): string | null {
  if (!e.detail) return null;
  const parts: string[] = [];
  for (const [field, v] of Object.entries(e.detail)) {
    const key = `field.${field}` as Key;
    const name = t(key) === key ? field : t(key);
    if (v && typeof v === 'object' && 'from' in v && 'to' in v) parts.push(`${name}: ${String((v as { from: unknown }).from)} → ${String((v as { to: unknown }).to)}`);
    else parts.push(`${name}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  }
  return parts.join(', ');
}

function Timeline({ events }: { events: OrderEvent[] }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  return (
    <ol className="timeline" data-testid="events">
      {events.map((e) => {
        const key = `event.${e.kind}` as Key;
        const why = e.reason ? reasonText(lang, e.reason, e.reason_text) : null;
        const change = changeText(t, e);
        return (
          <li key={e.seq} data-testid="event" data-kind={e.kind}>
            <span className="t-kind">{t(key) === key ? e.kind : t(key)}</span>
            <span className="t-at muted">{dateTime(e.at, lang)}</span>
            {(why || change) && <span className="t-note">{[change, why].filter(Boolean).join(' · ')}</span>}
          </li>
        );
      })}
    </ol>
  );
}

export function OrderDetailPage({ id }: { id: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  // The order as the store knows it: a websocket event changes it, and the receipts are re-read.
  const known = useStore((s) => s.orders.find((o) => o.id === id));
  const inst = useStore((s) => (known ? s.instrumentsById[known.ticker_id] : undefined));
  const [detail, setDetail] = useState<OrderDetail | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const version = known ? [known.status, known.filled_quantity, known.quantity, known.limit_price, known.stop_price, known.trail_mark].join('|') : '';

  useEffect(() => {
    let live = true;
    loadOrderDetail(id)
      .then((d) => live && setDetail(d))
      .catch((e) => live && setMissing(e instanceof ApiError && e.status === 404 ? t('detail.notFound') : errorMessage(lang, e).text));
    return () => {
      live = false;
    };
  }, [id, version, t, lang]);

  const o = detail ? { ...detail, ...(known ?? {}) } : null;
  const { busy, cancel } = useCancel(id);
  if (missing && !detail) {
    return (
      <div className="page">
        <Empty action={<a className="button" href="#/orders">{t('detail.back')}</a>}>{missing}</Empty>
      </div>
    );
  }
  if (!o || !detail) return <Loading />;
  const p = (v: string | null | undefined) => price(v ?? null, o.currency, lang);
  const open = OPEN.has(o.status);
  const reason = o.status === 'FAILED' || o.status === 'CANCELLED' ? reasonText(lang, o.reason, o.reason_text) : null;
  // An older server answers without receipts.
  const fills = detail.fills ?? [];
  const events = detail.events ?? [];

  return (
    <div className="page order-detail" data-testid="order-detail-page" data-status={o.status}>
      <a className="back" href="#/orders">‹ {t('detail.back')}</a>
      <h1 className="page-title">
        {displayName(inst, o.ticker_id, lang)}{' '}
        <span className={`o-side ${o.side === 'BUY' ? 'buy' : 'sell'}`}>{t(o.side === 'BUY' ? 'common.buy' : 'common.sell')}</span>
      </h1>
      <section className="card">
        <div className="detail-head">
          <h2>{t('detail.summary')}</h2>
          <span className={`status ${o.status.toLowerCase()}`} data-testid="detail-status">{t(`orders.${o.status}`)}</span>
        </div>
        <dl className="preview detail-grid">
          <Row label={t('orders.type')}>
            {t(`type.${o.type}`)}
            {o.time_in_force ? ` · ${t(`tif.${o.time_in_force}`)}` : ''}
          </Row>
          <Row label={t('orders.filledOf')}>{filledOf(o)}</Row>
          {o.amount_krw && <Row label={t('detail.amount')}>{krw(o.amount_krw, lang)}</Row>}
          {o.stop_price && <Row label={t('field.stop_price')} testId="detail-stop">{p(o.stop_price)}</Row>}
          {o.limit_price && <Row label={t('field.limit_price')}>{p(o.limit_price)}</Row>}
          {o.trail_percent && <Row label={t('field.trail_percent')}>{`${o.trail_percent}%`}</Row>}
          {o.trail_amount && <Row label={t('field.trail_amount')}>{p(o.trail_amount)}</Row>}
          {o.trail_mark && <Row label={t('detail.trailMark')}>{p(o.trail_mark)}</Row>}
          {(o.average_price ?? o.price) && <Row label={t('orders.avg')}>{p(o.average_price ?? o.price)}</Row>}
          {o.total_krw && o.total_krw !== '0' && <Row label={t('orders.total')}>{krw(o.total_krw, lang)}</Row>}
          {o.fee_krw && o.fee_krw !== '0' && <Row label={t('orders.fee')}>{krw(o.fee_krw, lang)}</Row>}
          {open && o.reserved_krw && o.reserved_krw !== '0' && <Row label={t('detail.reserved')}>{krw(o.reserved_krw, lang)}</Row>}
          <Row label={t('detail.created')}>{dateTime(o.created_at, lang)}</Row>
          {o.triggered_at && <Row label={t('detail.triggeredAt')}>{dateTime(o.triggered_at, lang)}</Row>}
          {o.expires_at && open && <Row label={t('detail.expires')}>{dateTime(o.expires_at, lang)}</Row>}
        </dl>
        {reason && <p className="o-reason" data-testid="order-reason">{reason}</p>}
        {open && (
          <div className="o-actions">
            <button className="ghost small" onClick={() => setEditing(!editing)} aria-expanded={editing} data-testid="modify-order">
              {t('orders.modify')}
            </button>
            <button className="ghost small danger" onClick={cancel} disabled={busy} data-testid="cancel-order">
              {t('orders.cancel')}
            </button>
          </div>
        )}
        {open && editing && <ModifyOrder o={o} onDone={() => setEditing(false)} />}
      </section>

      <section className="card">
        <h2>{t('detail.fills')}</h2>
        {fills.length === 0 ? (
          <p className="muted">{t('detail.noFills')}</p>
        ) : (
          <ol className="fills">
            {fills.map((f) => (
              <FillCard key={f.seq} f={f} currency={o.currency} />
            ))}
          </ol>
        )}
      </section>

      <section className="card">
        <h2>{t('detail.events')}</h2>
        <Timeline events={events} />
      </section>
    </div>
  );
}
