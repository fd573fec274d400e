/** Small shared pieces: coloured changes, flashing prices, market badges, avatars, empty states. */
import { memo, useEffect, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { direction, marketTime, pct, until, type Lang } from '../lib/format';
import type { Instrument, Market } from '../lib/types';
import { useNow, useT } from '../state/hooks';
import { symbolOf, type MarketStatus } from '../state/logic';
import { useStore } from '../state/store';

export function dirClass(v: string | null | undefined): string {
  const d = direction(v);
  return d > 0 ? 'up' : d < 0 ? 'down' : 'flat';
}

/** A percentage coloured by direction (red up / blue down in Korean, green/red in English). */
export function Change({ value, pill = false }: { value: string | null | undefined; pill?: boolean }) {
  // Colour by what is shown: a change that rounds to 0.00% is neither up nor down.
  const text = pct(value);
  const cls = text.startsWith('+') ? 'up' : text.startsWith('-') && text !== '-0.00%' ? 'down' : 'flat';
  return <span className={`num ${cls}${pill ? ' pill' : ''}`}>{text === '-0.00%' ? '0.00%' : text}</span>;
}

/** A value that briefly flashes when it changes (up or down). */
export const Flash = memo(function Flash({ value, children, className = '' }: { value: string | null | undefined; children: ReactNode; className?: string }) {
  const prev = useRef(value);
  const [flash, setFlash] = useState<'' | 'flash-up' | 'flash-down'>('');
  useEffect(() => {
    const before = prev.current;
    prev.current = value;
    if (before === undefined || before === null || value === null || value === undefined || before === value) return;
    const up = Number(value) >= Number(before);
    setFlash(up ? 'flash-up' : 'flash-down');
    const id = setTimeout(() => setFlash(''), 600);
    return () => clearTimeout(id);
  }, [value]);
  return <span className={`num ${className} ${flash}`}>{children}</span>;
});

const MARKET_HUE: Record<Market, string> = { KRX: 'krx', US: 'us', CRYPTO: 'crypto' };

/** A round letter avatar for an instrument, tinted by market. */
export function Avatar({ inst, tickerId }: { inst?: Instrument; tickerId: string }) {
  const lang = useStore((s) => s.lang);
  const sym = symbolOf(tickerId);
  // KRX codes are numbers: use the name's first letter instead.
  const label = inst?.market === 'KRX' ? displayName(inst, tickerId, lang).slice(0, 1) : sym.slice(0, sym.length <= 4 ? 4 : 3);
  return (
    <span className={`avatar ${inst ? MARKET_HUE[inst.market] : ''}`} aria-hidden>
      {label}
    </span>
  );
}

export function displayName(inst: Instrument | undefined, tickerId: string, lang: Lang): string {
  if (!inst) return tickerId;
  return lang === 'ko' ? inst.name_ko || inst.name : inst.name;
}

/** The instrument's name with its symbol underneath. */
export function InstrumentLabel({ tickerId }: { tickerId: string }) {
  const inst = useStore((s) => s.instrumentsById[tickerId]);
  const lang = useStore((s) => s.lang);
  return (
    <span className="inst-label">
      <Avatar inst={inst} tickerId={tickerId} />
      <span className="inst-text">
        <span className="inst-name">{displayName(inst, tickerId, lang)}</span>
        <span className="inst-sym">
          {symbolOf(tickerId)}
          {inst ? ` · ${inst.exchange}` : ''}
        </span>
      </span>
    </span>
  );
}

/** Open/closed badge with the next open or close time in the market's own zone (KST, ET). */
export function MarketBadge({ status, compact = false }: { status: MarketStatus; compact?: boolean }) {
  const t = useT();
  const lang = useStore((s) => s.lang);
  const now = useNow(30000);
  const always = status.market === 'CRYPTO' && !status.nextOpen && !status.nextClose;
  const label = always ? t('markets.always') : status.isOpen ? t('markets.open') : t('markets.closed');
  const nextIso = status.isOpen ? status.nextClose : status.nextOpen;
  const left = until(nextIso, now, lang);
  const next =
    nextIso && status.market !== 'CRYPTO'
      ? `${t(status.isOpen ? 'markets.closesAt' : 'markets.opensAt', { time: marketTime(nextIso, lang, status.market) })}${left ? ` ${t('markets.in', { left })}` : ''}`
      : null;
  return (
    <span className={`market-badge ${status.isOpen ? 'open' : 'closed'}`} data-market={status.market}>
      <span className="dot" />
      <b>{compact ? t(`markets.${status.market}` as const) + ' · ' : ''}{label}</b>
      {next && <span className="next">{next}</span>}
    </span>
  );
}

export function Empty({ children, action }: { children: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <p>{children}</p>
      {action}
    </div>
  );
}

export function Loading() {
  const t = useT();
  return (
    <div className="loading" role="status">
      <span className="spinner" /> {t('common.loading')}
    </div>
  );
}

/** A message with an optional secondary line (the server's own words under our translation). */
export function Message({ text, secondary }: { text: string; secondary?: string | null }) {
  return (
    <>
      {text}
      {secondary && (
        <small className="secondary" lang="en">
          {secondary}
        </small>
      )}
    </>
  );
}

/**
 * A real tab list (WAI-ARIA tabs): one tab in the tab order, arrow keys (and Home/End) move
 * between tabs and select them, each tab controls the panel `${idPrefix}-panel` (render it
 * with `tabPanelProps`).
 */
export function TabList<T extends string>({
  items,
  selected,
  onSelect,
  label,
  idPrefix,
  className,
  render,
}: {
  items: readonly T[];
  selected: T;
  onSelect: (item: T) => void;
  label: string;
  idPrefix: string;
  className: string;
  render: (item: T) => ReactNode;
}) {
  const refs = useRef(new Map<T, HTMLButtonElement>());
  function onKeyDown(e: KeyboardEvent<HTMLDivElement>) {
    const i = items.indexOf(selected);
    const next =
      e.key === 'ArrowRight' ? items[(i + 1) % items.length]
      : e.key === 'ArrowLeft' ? items[(i - 1 + items.length) % items.length]
      : e.key === 'Home' ? items[0]
      : e.key === 'End' ? items[items.length - 1]
      : null;
    if (next === null) return;
    e.preventDefault();
    onSelect(next);
    refs.current.get(next)?.focus();
  }
  return (
    <div className={className} role="tablist" aria-label={label} onKeyDown={onKeyDown}>
      {items.map((item) => (
        <button
          key={item}
          ref={(el) => {
            if (el) refs.current.set(item, el);
            else refs.current.delete(item);
          }}
          type="button"
          role="tab"
          id={`${idPrefix}-${item}`}
          aria-selected={item === selected}
          aria-controls={`${idPrefix}-panel`}
          tabIndex={item === selected ? 0 : -1}
          className={item === selected ? 'active' : ''}
          onClick={() => onSelect(item)}
          data-testid={`${idPrefix}-${item}`}
        >
          {render(item)}
        </button>
      ))}
    </div>
  );
}

export function tabPanelProps(idPrefix: string, selected: string) {
  return { role: 'tabpanel', id: `${idPrefix}-panel`, 'aria-labelledby': `${idPrefix}-${selected}`, tabIndex: 0 } as const;
}
