/**
 * The order ticket: buy/sell, market/limit, quantity and limit price, a KRW cost preview with
 * the estimated fee (and the FX rate for US stocks), the cash or holding available, and what
 * became of the last order sent: it follows that order's events to filled, failed or
 * cancelled. Warnings never block: the server decides, and its reason is shown in words.
 * The page keys the ticket by instrument, so nothing carries over from another one.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { ApiError, newClientOrderId } from '../lib/api';
import { type Dec, decOrNull, mul, dec, toPlain, truncate, div } from '../lib/decimal';
import { fixed, krw, parseUserDecimal, price, priceBare, qty } from '../lib/format';
import { type Key, readableDetail, reasonText } from '../lib/i18n';
import { outcomeUnknown, submissionFor } from '../lib/submit';
import type { Instrument, NewOrder, Order, OrderType, Quote, Side } from '../lib/types';
import { placeOrder } from '../state/actions';
import { useLivePortfolio, useT, useUsdKrw } from '../state/hooks';
import { affordable, estimate, feeRate } from '../state/logic';
import { useStore } from '../state/store';
import { displayName, Message } from './common';

type Failure = { text: string; secondary: string | null; retry: boolean };

/** What the ticket says about the order it sent, from the order as the store knows it now. */
function outcome(o: Order, queued: boolean, unit: string, lang: 'ko' | 'en', t: (k: Key, v?: Record<string, string | number>) => string) {
  switch (o.status) {
    case 'FILLED':
      return {
        kind: 'ok',
        text: t('ticket.filled', {
          qty: qty(o.quantity),
          unit,
          price: price(o.price, o.currency, lang),
          total: krw(o.total_krw, lang),
          fee: krw(o.fee_krw, lang),
        }),
      };
    case 'FAILED':
      return { kind: 'error', text: t('ticket.failed', { reason: reasonText(lang, o.reason, o.reason_text) ?? '' }) };
    case 'CANCELLED':
      return { kind: 'info', text: t('ticket.cancelled', { reason: reasonText(lang, o.reason, o.reason_text) ?? '' }) };
    default:
      if (queued) return { kind: 'queued', text: t('ticket.acceptedOffline') };
      return { kind: 'pending', text: t(o.type === 'LIMIT' ? 'ticket.resting' : 'ticket.accepted') };
  }
}

export function OrderTicket({ inst, quote, isOpen }: { inst: Instrument; quote: Quote | undefined; isOpen: boolean }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const usdKrw = useUsdKrw();
  const portfolio = useLivePortfolio();
  const offline = useStore((s) => s.home === 'offline' && s.offlineMode === 'single');
  const [side, setSide] = useState<Side>('BUY');
  const [type, setType] = useState<OrderType>('MARKET');
  const [quantity, setQuantity] = useState('');
  const [limit, setLimit] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<{ id: string; queued: boolean } | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  // A submission whose outcome is unknown: sending the same order again reuses its id.
  const [unresolved, setUnresolved] = useState<NewOrder | null>(null);
  const sentOrder = useStore((s) => (sent ? s.orders.find((o) => o.id === sent.id) : undefined));

  const isCrypto = inst.market === 'CRYPTO';
  const unit = isCrypto ? inst.ticker_id.split('-')[2] : lang === 'ko' ? '주' : 'sh';
  const holding = portfolio?.positions.find((p) => p.ticker_id === inst.ticker_id)?.quantity ?? '0';
  const cash = portfolio?.cash_krw ?? null;
  const q = parseUserDecimal(quantity);
  const lp = parseUserDecimal(limit);
  const quantityOk = q !== null && q > 0n;
  const limitOk = type === 'MARKET' || (lp !== null && lp > 0n);

  const est = useMemo(
    () =>
      estimate({
        market: inst.market,
        side,
        type,
        quantity: quantityOk ? q : null,
        limitPrice: lp,
        quote,
        currency: inst.currency,
        usdKrw,
        cashKrw: cash,
        holding,
        isOpen,
      }),
    [inst.market, side, type, q, quantityOk, lp, quote, inst.currency, usdKrw, cash, holding, isOpen],
  );

  function chooseType(next: OrderType) {
    setType(next);
    if (next === 'LIMIT' && !limit && quote) setLimit(toPlain(decOrNull(quote.price) ?? 0n));
  }

  function fillFraction(num: bigint, den: bigint) {
    const places = isCrypto ? 8 : 0;
    let amount: Dec | null = null;
    if (side === 'SELL') amount = div(mul(dec(holding), dec(num)), dec(den));
    else if (est.price !== null && est.fx !== null && cash !== null && est.price > 0n) {
      amount = affordable(div(mul(dec(cash), dec(num)), dec(den)), est.price, est.fx, inst.market);
    }
    if (amount !== null && amount > 0n) setQuantity(toPlain(truncate(amount, places)));
  }

  async function send(body: NewOrder) {
    setBusy(true);
    setFailure(null);
    setSent(null);
    try {
      const r = await placeOrder(body);
      setUnresolved(null);
      setSent({ id: r.order.id, queued: r.queued });
      setQuantity('');
      setTouched(false);
    } catch (err) {
      const unknown = outcomeUnknown(err);
      setUnresolved(unknown ? body : null);
      if (unknown) setFailure({ text: t(err instanceof ApiError && err.status === 0 ? 'ticket.network' : 'ticket.unknown'), secondary: null, retry: true });
      else {
        const r = readableDetail(lang, err instanceof ApiError ? err.detail : String(err));
        setFailure({ text: t('ticket.rejected', { detail: r.text }), secondary: r.secondary, retry: false });
      }
    } finally {
      setBusy(false);
    }
  }

  function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    if (!quantityOk || !limitOk || offline) return;
    const fields = {
      ticker_id: inst.ticker_id,
      side,
      type,
      quantity: toPlain(q!),
      ...(type === 'LIMIT' ? { limit_price: toPlain(lp!) } : {}),
    };
    void send(submissionFor(fields, unresolved, newClientOrderId));
  }

  const name = displayName(inst, inst.ticker_id, lang);
  const warnText: Record<(typeof est.warnings)[number], string> = {
    cash: t('ticket.warnCash'),
    holding: t('ticket.warnHolding'),
    closed: t('ticket.warnClosed'),
    stale: t('ticket.warnStale'),
  };

  return (
    <form className={`card ticket ${side === 'BUY' ? 'buy' : 'sell'}`} onSubmit={submit} noValidate data-testid="ticket">
      <div className="side-tabs" role="group" aria-label={t('orders.side')}>
        <button type="button" aria-pressed={side === 'BUY'} className={side === 'BUY' ? 'active buy' : ''} onClick={() => setSide('BUY')} data-testid="side-buy">
          {t('ticket.buy')}
        </button>
        <button type="button" aria-pressed={side === 'SELL'} className={side === 'SELL' ? 'active sell' : ''} onClick={() => setSide('SELL')} data-testid="side-sell">
          {t('ticket.sell')}
        </button>
      </div>
      <div className="segmented full" role="group" aria-label={t('orders.type')}>
        <button type="button" aria-pressed={type === 'MARKET'} className={type === 'MARKET' ? 'active' : ''} onClick={() => chooseType('MARKET')} data-testid="type-market">
          {t('ticket.market')}
        </button>
        <button type="button" aria-pressed={type === 'LIMIT'} className={type === 'LIMIT' ? 'active' : ''} onClick={() => chooseType('LIMIT')} data-testid="type-limit">
          {t('ticket.limit')}
        </button>
      </div>

      {type === 'LIMIT' && (
        <label className="field">
          <span>{t('ticket.limitPrice')}</span>
          <div className="input-unit">
            <input inputMode="decimal" autoComplete="off" value={limit} onChange={(e) => setLimit(e.target.value)} data-testid="limit-price" aria-invalid={touched && !limitOk} />
            <em>{inst.currency === 'USD' ? 'USD' : 'KRW'}</em>
          </div>
          {touched && !limitOk && <small className="field-error">{t('ticket.badLimit')}</small>}
        </label>
      )}

      <label className="field">
        <span>{t('ticket.quantity')}</span>
        <div className="input-unit">
          <input inputMode="decimal" autoComplete="off" placeholder="0" value={quantity} onChange={(e) => setQuantity(e.target.value)} data-testid="quantity" aria-invalid={touched && !quantityOk} />
          <em>{unit}</em>
        </div>
        {touched && !quantityOk && <small className="field-error" data-testid="quantity-error">{t('ticket.badQuantity')}</small>}
      </label>
      <div className="quick">
        {([[1n, 4n, '25%'], [1n, 2n, '50%'], [1n, 1n, side === 'SELL' ? t('ticket.max') : '100%']] as const).map(([n, d, label]) => (
          <button key={label} type="button" className="ghost small" onClick={() => fillFraction(n, d)}>
            {label}
          </button>
        ))}
      </div>

      <dl className="preview">
        <div>
          <dt>{side === 'BUY' ? t('ticket.available') : t('ticket.holding')}</dt>
          <dd className="num" data-testid="available">{side === 'BUY' ? krw(cash, lang) : `${qty(holding)} ${unit}`}</dd>
        </div>
        <div>
          <dt>{type === 'LIMIT' ? t('ticket.limitPrice') : t('ticket.estPrice')}</dt>
          <dd className="num">{price(est.price, inst.currency, lang)}</dd>
        </div>
        {inst.currency === 'USD' && (
          <div>
            <dt>{t('ticket.fxRate')}</dt>
            <dd className="num" data-testid="fx-rate">1 USD = {fixed(est.fx, 2)} KRW</dd>
          </div>
        )}
        <div>
          <dt>{t('ticket.estFee', { rate: toPlain(mul(feeRate(inst.market, side), dec(100))) })}</dt>
          <dd className="num" data-testid="est-fee" title={est.feeKrw === null ? '' : toPlain(est.feeKrw)}>
            {est.feeKrw !== null ? krw(est.feeKrw, lang) : '—'}
          </dd>
        </div>
        <div className="total">
          <dt>{t(side === 'BUY' ? 'ticket.estTotal' : 'ticket.estProceeds')}</dt>
          <dd className="num" data-testid="est-total">
            {est.totalKrw !== null ? krw(est.totalKrw, lang) : '—'}
            {inst.currency === 'USD' && est.totalKrw !== null && q !== null && est.price !== null && est.fx !== null && est.fx > 0n && (
              <small> (${priceBare(toPlain(div(est.totalKrw, est.fx)), 'USD')})</small>
            )}
          </dd>
        </div>
      </dl>
      <p className="muted tiny">{t('ticket.feeNote')}</p>

      {est.warnings.length > 0 && (
        <ul className="warnings">
          {est.warnings.map((w) => (
            <li key={w}>{warnText[w]}</li>
          ))}
        </ul>
      )}

      {offline && (
        <p className="result error" id="ticket-offline" data-testid="ticket-offline">
          {t('ticket.offlineSingle')}
        </p>
      )}
      <button
        type="submit"
        className={`big ${side === 'BUY' ? 'buy' : 'sell'}`}
        disabled={busy || offline}
        aria-describedby={offline ? 'ticket-offline' : undefined}
        data-testid="submit-order"
      >
        {busy ? t('ticket.sending') : t(side === 'BUY' ? 'ticket.submitBuy' : 'ticket.submitSell', { name })}
      </button>
      <div role="status" aria-live="polite">
        {sent && sentOrder && <Outcome o={sentOrder} queued={sent.queued} unit={unit} />}
        {failure && (
          <p className="result error" data-testid="ticket-result" data-status="ERROR">
            <Message text={failure.text} secondary={failure.secondary} />
          </p>
        )}
      </div>
      {failure?.retry && unresolved && !offline && (
        <button type="button" className="ghost small" onClick={() => void send(unresolved)} disabled={busy} data-testid="retry-order">
          {t('ticket.retry')}
        </button>
      )}
    </form>
  );
}

function Outcome({ o, queued, unit }: { o: Order; queued: boolean; unit: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const r = outcome(o, queued, unit, lang, t);
  return (
    <p className={`result ${r.kind}`} data-testid="ticket-result" data-status={o.status}>
      {r.text}
    </p>
  );
}
