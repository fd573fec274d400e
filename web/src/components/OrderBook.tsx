/**
 * 호가창: the displayed order book of one instrument, live from the websocket's `book` messages
 * (at most 5 a second). Asks above (best at the bottom), bids below (best at the top), sizes as
 * bars. Clicking a price announces it with a `papertrade:price` event; the order ticket puts it
 * in its limit field.
 */
import { useEffect, useMemo, useState } from 'react';
import { api } from '../lib/api';
import { priceBare, qty } from '../lib/format';
import type { BookLevel, OrderBook as Book } from '../lib/types';
import { onBook } from '../state/actions';
import { useStore } from '../state/store';
import './depth.css';
import { PRICE_EVENT } from '../state/ticket';

const TEXT = {
  ko: {
    title: '호가',
    asks: '매도 잔량',
    bids: '매수 잔량',
    price: '가격',
    none: '이 종목의 호가 정보가 아직 없어요.',
    stale: '지연',
    hint: '가격을 누르면 지정가에 넣어요.',
    ask: '매도',
    bid: '매수',
  },
  en: {
    title: 'Order book',
    asks: 'Ask size',
    bids: 'Bid size',
    price: 'Price',
    none: 'No order book for this instrument yet.',
    stale: 'Delayed',
    hint: 'Click a price to use it as your limit.',
    ask: 'Ask',
    bid: 'Bid',
  },
};


export function announcePrice(tickerId: string, price: string): void {
  window.dispatchEvent(new CustomEvent(PRICE_EVENT, { detail: { ticker_id: tickerId, price } }));
}

export function OrderBook({ tickerId, currency }: { tickerId: string; currency: string }) {
  const lang = useStore((s) => s.lang);
  const ws = useStore((s) => s.ws);
  const text = TEXT[lang];
  const [book, setBook] = useState<Book | null>(null);

  // The current book at once (and again after a reconnect), then every `book` message.
  useEffect(() => {
    let cancelled = false;
    api
      .orderbook(tickerId)
      .then((b) => !cancelled && setBook(b))
      .catch(() => {});
    return () => {
      cancelled = true;
    };
  }, [tickerId, ws]);
  useEffect(() => {
    setBook(null);
    return onBook(tickerId, setBook);
  }, [tickerId]);
  const missing = book !== null && book.bids.length === 0 && book.asks.length === 0;

  const largest = useMemo(() => {
    if (!book) return 0;
    return Math.max(0, ...[...book.asks, ...book.bids].map((l) => Number(l.size)));
  }, [book]);

  return (
    <section className="card book-card" aria-labelledby={`book-${tickerId}`} data-testid="order-book">
      <h2 id={`book-${tickerId}`}>
        {text.title}
        {book?.stale && <span className="tag warn">{text.stale}</span>}
      </h2>
      {!book || missing ? (
        <p className="muted" data-testid="book-none">{missing ? text.none : '…'}</p>
      ) : (
        <>
          <div className="book-head" aria-hidden="true">
            <span>{text.price}</span>
            <span>{text.asks} / {text.bids}</span>
          </div>
          <ol className="book-side asks" aria-label={text.asks} data-testid="book-asks">
            {[...book.asks].reverse().map((level) => (
              <Row key={level.price} level={level} side="ask" largest={largest} tickerId={tickerId} currency={currency} label={text.ask} />
            ))}
          </ol>
          <ol className="book-side bids" aria-label={text.bids} data-testid="book-bids">
            {book.bids.map((level) => (
              <Row key={level.price} level={level} side="bid" largest={largest} tickerId={tickerId} currency={currency} label={text.bid} />
            ))}
          </ol>
          <p className="muted book-hint">{text.hint}</p>
        </>
      )}
    </section>
  );
}

function Row({
  level,
  side,
  largest,
  tickerId,
  currency,
  label,
}: {
  level: BookLevel;
  side: 'ask' | 'bid';
  largest: number;
  tickerId: string;
  currency: string;
  label: string;
}) {
  const width = largest > 0 ? Math.max(2, Math.round((Number(level.size) / largest) * 100)) : 0;
  const shown = priceBare(level.price, currency as 'KRW');
  return (
    <li className={`book-row ${side}`}>
      <button
        type="button"
        className="book-price num"
        onClick={() => announcePrice(tickerId, level.price)}
        aria-label={`${label} ${shown}, ${qty(level.size)}`}
        data-testid={`book-price-${side}`}
      >
        {shown}
      </button>
      <span className="book-size num">
        <span className="book-bar" style={{ width: `${width}%` }} aria-hidden="true" />
        <span className="book-qty">{qty(level.size)}</span>
      </span>
    </li>
  );
}
