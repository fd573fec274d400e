/**
 * The order ticket (SPEC 6A): buy/sell, the order type and time in force with a sentence of help
 * each, the stop, limit and trail fields of the chosen type, a MARKET BUY by amount, the available
 * cash or quantity (what open orders do not hold), the estimate with the server's cost rates and
 * what the order will hold while open, and the status of the last order sent, following its
 * events. Hints mirror the server's door rules but never block: the server decides, and its
 * detail is shown in words. The page keys the ticket by instrument, so nothing carries over.
 */
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { ApiError, newClientOrderId } from '../lib/api';
import { type Dec, ZERO, div, dec, mul, toPlain, truncate } from '../lib/decimal';
import { fixed, krw, parseUserDecimal, price, priceBare, qty } from '../lib/format';
import { type Key, feeKindText, readableDetail } from '../lib/i18n';
import { outcomeUnknown, submissionFor } from '../lib/submit';
import type { Instrument, NewOrder, OrderType, Quote, Side, TimeInForce } from '../lib/types';
import { placeOrder } from '../state/actions';
import { useLivePortfolio, useT, useUsdKrw } from '../state/hooks';
import {
  DEFAULT_TIME_IN_FORCE,
  FALLBACK_COSTS,
  ORDER_TYPES,
  affordable,
  canOrderByAmount,
  clickedPriceTarget,
  effectiveTimeInForce,
  estimate,
  fieldsOf,
  instrumentKind,
  listenForPrice,
  lotStep,
  rulesInForce,
  ticketHints,
  timeInForceChoices,
  tradeDate,
  valueRate,
} from '../state/ticket';
import { useStore } from '../state/store';
import { displayName, Message } from './common';
import { Choices, DecimalField, TicketStatus, hintText } from './TicketParts';

type Failure = { text: string; secondary: string | null; retry: boolean };
type TrailBy = 'percent' | 'amount';

const positive = (d: Dec | null): d is Dec => d !== null && d > ZERO;

export function OrderTicket({ inst, quote, isOpen }: { inst: Instrument; quote: Quote | undefined; isOpen: boolean }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const usdKrw = useUsdKrw();
  const portfolio = useLivePortfolio();
  const costs = useStore((s) => s.costs) ?? FALLBACK_COSTS;
  const offline = useStore((s) => s.home === 'offline' && s.offlineMode === 'single');
  const [side, setSide] = useState<Side>('BUY');
  const [type, setType] = useState<OrderType>('MARKET');
  const [tifChoice, setTifChoice] = useState<TimeInForce | null>(null);
  const [byAmount, setByAmount] = useState(false);
  const [quantity, setQuantity] = useState('');
  const [amount, setAmount] = useState('');
  const [limit, setLimit] = useState('');
  const [stop, setStop] = useState('');
  const [trail, setTrail] = useState('');
  const [trailBy, setTrailBy] = useState<TrailBy>('percent');
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<{ id: string; queued: boolean } | null>(null);
  const [failure, setFailure] = useState<Failure | null>(null);
  // A submission whose outcome is unknown: sending the same order again reuses its id.
  const [unresolved, setUnresolved] = useState<NewOrder | null>(null);
  const sentOrder = useStore((s) => (sent ? s.orders.find((o) => o.id === sent.id) : undefined));

  const market = inst.market;
  const kind = instrumentKind(inst.ticker_id);
  const isCrypto = market === 'CRYPTO';
  const unit = isCrypto ? inst.ticker_id.split('-')[2] : lang === 'ko' ? '주' : 'sh';
  const ccy = inst.currency === 'USD' ? 'USD' : 'KRW';
  const position = portfolio?.positions.find((p) => p.ticker_id === inst.ticker_id);
  const availableQty = position?.available_quantity ?? position?.quantity ?? '0';
  const availableCash = portfolio?.available_cash_krw ?? portfolio?.cash_krw ?? null;
  const f = fieldsOf(type);
  const amountMode = byAmount && canOrderByAmount(type, side);
  const tif = effectiveTimeInForce(market, type, tifChoice);

  const q = parseUserDecimal(quantity);
  const amt = parseUserDecimal(amount);
  const lp = parseUserDecimal(limit);
  const sp = parseUserDecimal(stop);
  const tr = parseUserDecimal(trail);
  const ok = {
    quantity: amountMode || positive(q),
    amount: !amountMode || positive(amt),
    limit: !f.limit || positive(lp),
    stop: !f.stop || positive(sp),
    trail: !f.trail || positive(tr),
  };

  const input = useMemo(
    () => ({
      market,
      kind,
      side,
      type,
      timeInForce: tif,
      quantity: amountMode || !positive(q) ? null : q,
      amountKrw: amountMode && positive(amt) ? amt : null,
      limitPrice: lp,
      stopPrice: sp,
      trailPercent: trailBy === 'percent' ? tr : null,
      trailAmount: trailBy === 'amount' ? tr : null,
      quote,
      currency: inst.currency,
      usdKrw,
      availableCashKrw: availableCash,
      availableQuantity: availableQty,
      isOpen,
      costs,
      now: new Date(),
    }),
    [market, kind, side, type, tif, amountMode, q, amt, lp, sp, tr, trailBy, quote, inst.currency, usdKrw, availableCash, availableQty, isOpen, costs],
  );
  const est = useMemo(() => estimate(input), [input]);
  const hints = useMemo(() => ticketHints(input, est), [input, est]);
  const hintsFor = (field: string) => hints.filter((h) => h.field === field).map((h) => hintText(h, market, t, lang));

  // A price clicked in the order book goes into this ticket's limit (or stop) field.
  const typeNow = useRef(type);
  typeNow.current = type;
  useEffect(
    () =>
      listenForPrice(window, inst.ticker_id, (p) => {
        const target = clickedPriceTarget(typeNow.current);
        setType(target.type);
        (target.field === 'stop' ? setStop : setLimit)(p);
      }),
    [inst.ticker_id],
  );

  function chooseType(next: OrderType) {
    setType(next);
    if (fieldsOf(next).limit && !limit && quote) setLimit(toPlain(dec(quote.price)));
  }

  function fillFraction(num: bigint, den: bigint) {
    const share = (v: string) => div(mul(dec(v), dec(num)), dec(den));
    if (amountMode) {
      if (availableCash !== null) setAmount(toPlain(truncate(share(availableCash), 0)));
      return;
    }
    let amountQty: Dec | null = null;
    if (side === 'SELL') amountQty = truncate(share(availableQty), isCrypto ? 8 : 0);
    else if (positive(est.price) && est.fx !== null && availableCash !== null) {
      const rules = rulesInForce(costs, market, kind, 'BUY', tradeDate(market, new Date()));
      amountQty = affordable(share(availableCash), est.price, est.fx, valueRate(rules), lotStep(market, type));
    }
    if (amountQty !== null && amountQty > ZERO) setQuantity(toPlain(amountQty));
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
      setAmount('');
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
    if (!Object.values(ok).every(Boolean) || offline) return;
    const fields: Omit<NewOrder, 'client_order_id'> = {
      ticker_id: inst.ticker_id,
      side,
      type,
      ...(amountMode ? { amount_krw: toPlain(amt!) } : { quantity: toPlain(q!) }),
      ...(f.limit ? { limit_price: toPlain(lp!) } : {}),
      ...(f.stop ? { stop_price: toPlain(sp!) } : {}),
      ...(f.trail ? (trailBy === 'percent' ? { trail_percent: toPlain(tr!) } : { trail_amount: toPlain(tr!) }) : {}),
      // The market's default goes unsaid: the server applies the same one.
      ...(tif !== DEFAULT_TIME_IN_FORCE[market] ? { time_in_force: tif } : {}),
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
  const priceLabel: Key = f.limit ? 'ticket.limitPrice' : f.stop ? 'ticket.stopAt' : f.trail ? 'ticket.trailStopNow' : 'ticket.estPrice';

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
      <Choices
        label={t('ticket.orderType')}
        name="order-type"
        items={ORDER_TYPES}
        chosen={type}
        onChoose={chooseType}
        text={(x) => t(`type.${x}`)}
        help={(x) => t(`typeHelp.${x}`)}
        testId={(x) => `type-${x.toLowerCase().replace('_', '-')}`}
      />
      <Choices
        label={t('ticket.tif')}
        name="tif"
        items={timeInForceChoices(market, type)}
        chosen={tif}
        onChoose={setTifChoice}
        text={(x) => t(`tif.${x}`)}
        help={(x) => t(`tifHelp.${x}`)}
        testId={(x) => `tif-${x}`}
      />

      {f.stop && (
        <DecimalField label={t('ticket.stopPrice')} value={stop} onChange={setStop} unit={ccy} testId="stop-price" invalid={touched && !ok.stop} error={t('ticket.badStop')} hints={hintsFor('stop_price')} />
      )}
      {f.limit && (
        <DecimalField label={t('ticket.limitPrice')} value={limit} onChange={setLimit} unit={ccy} testId="limit-price" invalid={touched && !ok.limit} error={t('ticket.badLimit')} hints={hintsFor('limit_price')} />
      )}
      {f.trail && (
        <>
          <div className="segmented full small" role="group" aria-label={t('ticket.trailBy')}>
            {(['percent', 'amount'] as const).map((by) => (
              <button key={by} type="button" aria-pressed={trailBy === by} className={trailBy === by ? 'active' : ''} onClick={() => setTrailBy(by)} data-testid={`trail-by-${by}`}>
                {t(by === 'percent' ? 'ticket.trailPercent' : 'ticket.trailAmount')}
              </button>
            ))}
          </div>
          <DecimalField label={t('ticket.trail')} value={trail} onChange={setTrail} unit={trailBy === 'percent' ? '%' : ccy} testId="trail" invalid={touched && !ok.trail} error={t('ticket.badTrail')} hints={hintsFor('trail_percent')} />
        </>
      )}

      {canOrderByAmount(type, side) && (
        <label className="check">
          <input type="checkbox" checked={byAmount} onChange={(e) => setByAmount(e.target.checked)} data-testid="by-amount" />
          {t('ticket.byAmount')}
        </label>
      )}
      {amountMode ? (
        <DecimalField label={t('ticket.amount')} value={amount} onChange={setAmount} unit="KRW" testId="amount" placeholder="0" invalid={touched && !ok.amount} error={t('ticket.badAmount')} hints={hintsFor('amount_krw')} />
      ) : (
        <DecimalField label={t('ticket.quantity')} value={quantity} onChange={setQuantity} unit={unit} testId="quantity" placeholder="0" invalid={touched && !ok.quantity} error={t('ticket.badQuantity')} hints={hintsFor('quantity')} />
      )}
      <div className="quick">
        {([[1n, 4n, '25%'], [1n, 2n, '50%'], [1n, 1n, side === 'SELL' ? t('ticket.max') : '100%']] as const).map(([n, d, label]) => (
          <button key={label} type="button" className="ghost small" onClick={() => fillFraction(n, d)}>
            {label}
          </button>
        ))}
      </div>
      {hints.length > 0 && <p className="muted tiny">{t('ticket.hintNote')}</p>}

      <dl className="preview">
        <div>
          <dt>{side === 'BUY' ? t('ticket.available') : t('ticket.availableQty')}</dt>
          <dd className="num" data-testid="available" title={side === 'BUY' ? (availableCash ?? '') : availableQty}>
            {side === 'BUY' ? krw(availableCash, lang) : `${qty(availableQty)} ${unit}`}
          </dd>
        </div>
        <div>
          <dt>{t(priceLabel)}</dt>
          <dd className="num" data-testid="est-price">{price(est.price, inst.currency, lang)}</dd>
        </div>
        {inst.currency === 'USD' && (
          <div>
            <dt>{t('ticket.fxRate')}</dt>
            <dd className="num" data-testid="fx-rate">1 USD = {fixed(est.fx, 2)} KRW</dd>
          </div>
        )}
        {amountMode && (
          <div>
            <dt>{t('ticket.estQty')}</dt>
            <dd className="num" data-testid="est-qty">{est.quantity === null ? '—' : `${qty(est.quantity)} ${unit}`}</dd>
          </div>
        )}
        <div>
          <dt>{t('ticket.estFees')}</dt>
          <dd className="num" data-testid="est-fee" title={est.feeKrw === null ? '' : toPlain(est.feeKrw)}>
            {est.feeKrw !== null ? krw(est.feeKrw, lang) : '—'}
          </dd>
        </div>
        {est.fees.length > 1 &&
          est.fees.map((line) => (
            <div key={line.kind} className="sub-line">
              <dt>{feeKindText(lang, line.kind)}</dt>
              <dd className="num" title={toPlain(line.amount)}>{krw(line.amount, lang)}</dd>
            </div>
          ))}
        <div className="total">
          <dt>{t(side === 'BUY' ? 'ticket.estTotal' : 'ticket.estProceeds')}</dt>
          <dd className="num" data-testid="est-total">
            {est.totalKrw !== null ? krw(est.totalKrw, lang) : '—'}
            {inst.currency === 'USD' && est.totalKrw !== null && positive(est.fx) && <small> (${priceBare(toPlain(div(est.totalKrw, est.fx)), 'USD')})</small>}
          </dd>
        </div>
        {type !== 'MARKET' && side === 'BUY' && (
          <div>
            <dt>{t('ticket.reserve')}</dt>
            <dd className="num" data-testid="est-reserve" title={est.reserveKrw === null ? '' : toPlain(est.reserveKrw)}>
              {est.reserveKrw !== null ? krw(est.reserveKrw, lang) : '—'}
            </dd>
          </div>
        )}
        {type !== 'MARKET' && side === 'SELL' && (
          <div>
            <dt>{t('ticket.reserveQty')}</dt>
            <dd className="num" data-testid="est-reserve">{est.quantity !== null ? `${qty(est.quantity)} ${unit}` : '—'}</dd>
          </div>
        )}
      </dl>
      <p className="muted tiny">{t('ticket.costsNote', { preset: costs.preset })}</p>

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
        {sent && sentOrder && <TicketStatus o={sentOrder} queued={sent.queued} unit={unit} />}
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
