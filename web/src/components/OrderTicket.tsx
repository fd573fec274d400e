/**
 * The order ticket: buy/sell, market/limit, quantity and limit price, a KRW cost preview
 * (with the FX rate for US stocks) and the cash or holding available. Warnings never block:
 * the server decides, and its reason is shown in words.
 */
import { useMemo, useState, type FormEvent } from 'react';
import { ApiError } from '../lib/api';
import { type Dec, decOrNull, mul, dec, toPlain, truncate, div } from '../lib/decimal';
import { fixed, krw, parseUserDecimal, price, priceBare, qty } from '../lib/format';
import type { Instrument, OrderType, Quote, Side } from '../lib/types';
import { placeOrder } from '../state/actions';
import { useLivePortfolio, useT } from '../state/hooks';
import { estimate } from '../state/logic';
import { useStore } from '../state/store';
import { displayName } from './common';

type Result = { kind: 'ok' | 'queued' | 'error'; text: string } | null;

export function OrderTicket({ inst, quote, isOpen }: { inst: Instrument; quote: Quote | undefined; isOpen: boolean }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const usdKrw = useStore((s) => s.usdKrw?.rate ?? null);
  const portfolio = useLivePortfolio();
  const [side, setSide] = useState<Side>('BUY');
  const [type, setType] = useState<OrderType>('MARKET');
  const [quantity, setQuantity] = useState('');
  const [limit, setLimit] = useState('');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<Result>(null);

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
    [side, type, q, quantityOk, lp, quote, inst.currency, usdKrw, cash, holding, isOpen],
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
      // Leave 0.5 % for the fee, which the server adds on top.
      const budget = div(mul(dec(cash), dec(num)), dec(den));
      amount = div(mul(budget, dec('0.995')), mul(est.price, est.fx));
    }
    if (amount !== null && amount > 0n) setQuantity(toPlain(truncate(amount, places)));
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    setTouched(true);
    setResult(null);
    if (!quantityOk || !limitOk) return;
    setBusy(true);
    try {
      const r = await placeOrder({
        ticker_id: inst.ticker_id,
        side,
        type,
        quantity: toPlain(q!),
        ...(type === 'LIMIT' ? { limit_price: toPlain(lp!) } : {}),
      });
      setResult(r.queued ? { kind: 'queued', text: t('ticket.acceptedOffline') } : { kind: 'ok', text: t('ticket.accepted') });
      setQuantity('');
      setTouched(false);
    } catch (err) {
      const text =
        err instanceof ApiError && err.unreachable
          ? t('ticket.network')
          : t('ticket.rejected', { detail: err instanceof ApiError ? err.detail : String(err) });
      setResult({ kind: 'error', text });
    } finally {
      setBusy(false);
    }
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
      <div className="side-tabs" role="tablist">
        <button type="button" role="tab" aria-selected={side === 'BUY'} className={side === 'BUY' ? 'active buy' : ''} onClick={() => setSide('BUY')} data-testid="side-buy">
          {t('ticket.buy')}
        </button>
        <button type="button" role="tab" aria-selected={side === 'SELL'} className={side === 'SELL' ? 'active sell' : ''} onClick={() => setSide('SELL')} data-testid="side-sell">
          {t('ticket.sell')}
        </button>
      </div>
      <div className="segmented full">
        <button type="button" className={type === 'MARKET' ? 'active' : ''} onClick={() => chooseType('MARKET')} data-testid="type-market">
          {t('ticket.market')}
        </button>
        <button type="button" className={type === 'LIMIT' ? 'active' : ''} onClick={() => chooseType('LIMIT')} data-testid="type-limit">
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
        <div className="total">
          <dt>{t('ticket.estTotal')}</dt>
          <dd className="num" data-testid="est-total">
            {est.totalKrw !== null ? krw(est.totalKrw, lang) : '—'}
            {inst.currency === 'USD' && est.totalKrw !== null && q !== null && est.price !== null && (
              <small> (${priceBare(toPlain(mul(q, est.price)), 'USD')})</small>
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

      <button type="submit" className={`big ${side === 'BUY' ? 'buy' : 'sell'}`} disabled={busy} data-testid="submit-order">
        {busy ? t('ticket.sending') : t(side === 'BUY' ? 'ticket.submitBuy' : 'ticket.submitSell', { name })}
      </button>
      {result && (
        <p className={`result ${result.kind}`} role={result.kind === 'error' ? 'alert' : 'status'} data-testid="ticket-result">
          {result.text}
        </p>
      )}
    </form>
  );
}
