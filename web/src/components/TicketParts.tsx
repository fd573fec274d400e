/** The order ticket's pieces: a choice group with its help sentence, a decimal field, hints, the status line. */
import type { ReactNode } from 'react';
import { krw, price, qty } from '../lib/format';
import { type Key, reasonText } from '../lib/i18n';
import type { Order } from '../lib/types';
import { useT } from '../state/hooks';
import { useStore } from '../state/store';
import { type Hint, type TicketPhase, formatStep, nextPhase } from '../state/ticket';

/** Toggle buttons (aria-pressed) for one choice, with a one-sentence help for the chosen one. */
export function Choices<T extends string>({
  label,
  items,
  chosen,
  onChoose,
  name,
  text,
  help,
  testId,
}: {
  label: string;
  items: readonly T[];
  chosen: T;
  onChoose: (item: T) => void;
  name: string;
  text: (item: T) => string;
  help: (item: T) => string;
  testId: (item: T) => string;
}) {
  const helpId = `${name}-help`;
  return (
    <div className="choice">
      <span className="choice-label" id={`${name}-label`}>{label}</span>
      <div className={`choice-buttons n${items.length}`} role="group" aria-labelledby={`${name}-label`} aria-describedby={helpId}>
        {items.map((item) => (
          <button key={item} type="button" aria-pressed={item === chosen} className={item === chosen ? 'active' : ''} onClick={() => onChoose(item)} data-testid={testId(item)}>
            {text(item)}
          </button>
        ))}
      </div>
      <p className="choice-help" id={helpId} data-testid={`${name}-help`}>{help(chosen)}</p>
    </div>
  );
}

/** A decimal input with its unit, an error once the player tried to send, and hints under it. */
export function DecimalField({
  label,
  value,
  onChange,
  unit,
  testId,
  invalid,
  error,
  hints,
  placeholder,
}: {
  label: string;
  value: string;
  onChange: (v: string) => void;
  unit: string;
  testId: string;
  invalid: boolean;
  error: string;
  hints: ReactNode[];
  placeholder?: string;
}) {
  const notes = [...(invalid ? [`${testId}-error`] : []), ...hints.map((_, i) => `${testId}-hint-${i}`)];
  return (
    <label className="field">
      <span>{label}</span>
      <div className="input-unit">
        <input
          inputMode="decimal"
          autoComplete="off"
          placeholder={placeholder}
          value={value}
          onChange={(e) => onChange(e.target.value)}
          data-testid={testId}
          aria-invalid={invalid}
          aria-describedby={notes.length ? notes.join(' ') : undefined}
        />
        <em>{unit}</em>
      </div>
      {invalid && (
        <small className="field-error" id={`${testId}-error`} data-testid={`${testId}-error`}>
          {error}
        </small>
      )}
      {hints.map((h, i) => (
        <small key={i} className="field-hint" id={`${testId}-hint-${i}`} data-testid={`${testId}-hint`}>
          {h}
        </small>
      ))}
    </label>
  );
}

/** A hint in words, with the values the server would accept. */
export function hintText(h: Hint, market: string, t: (k: Key, v?: Record<string, string | number>) => string, lang: 'ko' | 'en'): string {
  const or = t('hint.or');
  switch (h.key) {
    case 'lot':
    case 'tick': {
      const s = formatStep(h.hint);
      const nearest = s.below ? `${s.below}${or}${s.above}` : s.above;
      return h.key === 'lot' ? t(`hint.lot.${market}` as Key, { nearest }) : t('hint.tick', { tick: s.step, nearest });
    }
    case 'priceLimits':
      return t('hint.priceLimits', { lower: price(h.lower, 'KRW', lang), upper: price(h.upper, 'KRW', lang) });
    case 'minimum':
      return t('hint.minimum', { value: krw(h.valueKrw, lang) });
    case 'amountTooSmall':
      return t('hint.amountTooSmall');
    case 'trailPercent':
      return t('hint.trailPercent');
  }
}

/** Where the order stands now, in words: the resting price, the fill, or the reason it ended. */
export function phaseText(o: Order, phase: TicketPhase, unit: string, lang: 'ko' | 'en', t: (k: Key, v?: Record<string, string | number>) => string): string {
  const p = (v: string | null | undefined) => price(v ?? null, o.currency, lang);
  switch (phase) {
    case 'filled':
      return t('ticket.filled', {
        qty: qty(o.filled_quantity ?? o.quantity),
        unit,
        price: p(o.average_price ?? o.price),
        total: krw(o.total_krw, lang),
        fee: krw(o.fee_krw, lang),
      });
    case 'partial':
      return t('ticket.phase.partial', { filled: qty(o.filled_quantity ?? '0'), qty: qty(o.quantity), unit, price: p(o.average_price ?? o.price) });
    case 'failed':
      return t('ticket.failed', { reason: reasonText(lang, o.reason, o.reason_text) ?? '' });
    case 'cancelled':
      return t('ticket.cancelled', { reason: reasonText(lang, o.reason, o.reason_text) ?? '' });
    case 'expired':
      return t('ticket.phase.expired');
    case 'triggered':
      return t('ticket.phase.triggered');
    case 'rested':
      return t('ticket.phase.rested', { what: restingWhat(o, p, t) });
    case 'accepted':
      return t('ticket.phase.accepted');
  }
}

/** The price an open order waits at: its limit, its stop, or its trailing stop and mark. */
export function restingWhat(o: Order, p: (v: string | null | undefined) => string, t: (k: Key, v?: Record<string, string | number>) => string): string {
  switch (o.type) {
    case 'STOP':
      return t('rest.stop', { price: p(o.stop_price) });
    case 'STOP_LIMIT':
      return t('rest.stopLimit', { stop: p(o.stop_price), limit: p(o.limit_price) });
    case 'TRAILING_STOP':
      return t('rest.trail', { price: p(o.stop_price), mark: p(o.trail_mark) });
    default:
      return t('rest.limit', { price: p(o.limit_price) });
  }
}

const PHASE_KIND: Record<TicketPhase, string> = {
  accepted: 'pending',
  rested: 'pending',
  triggered: 'pending',
  partial: 'pending',
  filled: 'ok',
  cancelled: 'info',
  expired: 'info',
  failed: 'error',
};

/** The ticket's status line for the order it sent. */
export function TicketStatus({ o, queued, unit }: { o: Order; queued: boolean; unit: string }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  // The order may have settled by a list fetch (after a reconnect) rather than an event: its status settles the phase.
  const phase = nextPhase(useStore((s) => s.orderPhases[o.id]) ?? null, o);
  const waiting = queued && phase === 'accepted';
  return (
    <p className={`result ${waiting ? 'queued' : PHASE_KIND[phase]}`} data-testid="ticket-result" data-status={o.status} data-phase={phase}>
      {waiting ? t('ticket.acceptedOffline') : phaseText(o, phase, unit, lang, t)}
    </p>
  );
}
