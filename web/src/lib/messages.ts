/**
 * Normalise what arrives on /ws into typed messages.
 *
 * The contract says an order event is `{"type":"order", ...all order fields}`, but an order
 * has its own `type` (MARKET/LIMIT), so the two collide. Accepted shapes, in order:
 * `{"type":"order","order":{...}}`, `{"type":"order", ..., "order_type":"LIMIT"}`, and a flat
 * `{"type":"order", ...}` whose MARKET/LIMIT is recovered from what we know (or limit_price).
 * The event that caused the message (SPEC 6A `event`: kind, at, reason) is read beside the
 * order or inside it, and kept on the order as `event`.
 */
import type { Candle, FxRate, Order, OrderBook, OrderEventNote, OrderType, Quote, Trade } from './types';

export type Message =
  | { type: 'quote'; quote: Quote }
  | { type: 'fx'; fx: FxRate }
  | { type: 'candle'; ticker_id: string; interval: string; candle: Candle }
  | { type: 'book'; book: OrderBook }
  | { type: 'order'; order: Order }
  /** Another player's fill, live (SPEC 6C's feed): one item of GET /api/feed. */
  | { type: 'feed'; trade: Trade }
  | { type: 'auth'; ok: boolean }
  | { type: 'error'; detail: string }
  | { type: 'pong' }
  | { type: 'heartbeat'; ts: string };

type Raw = Record<string, unknown>;

const ORDER_TYPES: ReadonlySet<unknown> = new Set(['MARKET', 'LIMIT', 'STOP', 'STOP_LIMIT', 'TRAILING_STOP']);

function isOrderType(v: unknown): v is OrderType {
  return ORDER_TYPES.has(v);
}

function isEvent(v: unknown): v is OrderEventNote {
  return !!v && typeof v === 'object' && typeof (v as Raw).kind === 'string';
}

function looksLikeOrder(r: Raw): boolean {
  return typeof r.id === 'string' && typeof r.status === 'string' && typeof r.side === 'string';
}

export function parseMessage(data: unknown, knownType: (orderId: string) => OrderType | undefined = () => undefined): Message | null {
  let r: Raw;
  try {
    r = typeof data === 'string' ? JSON.parse(data) : (data as Raw);
  } catch {
    return null;
  }
  if (!r || typeof r !== 'object') return null;
  const { type, ...rest } = r;
  switch (type) {
    case 'quote':
      return { type, quote: rest as unknown as Quote };
    case 'fx':
      return { type, fx: rest as unknown as FxRate };
    case 'candle': {
      const { ticker_id, interval, ...candle } = rest;
      return { type, ticker_id: String(ticker_id), interval: String(interval ?? '1m'), candle: candle as unknown as Candle };
    }
    case 'book':
      return { type, book: rest as unknown as OrderBook };
    case 'order': {
      if (rest.order && typeof rest.order === 'object') {
        const order = rest.order as Order;
        const event = isEvent(rest.event) ? rest.event : isEvent(order.event) ? order.event : undefined;
        return { type, order: event ? { ...order, event } : order };
      }
      const { order_type, ...fields } = rest;
      const id = String(fields.id);
      const ot: OrderType = isOrderType(order_type)
        ? order_type
        : (knownType(id) ?? (fields.limit_price !== null && fields.limit_price !== undefined ? 'LIMIT' : 'MARKET'));
      return { type, order: { ...(fields as unknown as Order), type: ot } };
    }
    case 'feed':
      return rest.trade && typeof rest.trade === 'object' ? { type, trade: rest.trade as Trade } : null;
    case 'auth':
      return { type, ok: rest.ok !== false };
    case 'error':
      return { type, detail: String(rest.detail ?? '') };
    case 'pong':
      return { type };
    case 'heartbeat':
      return { type, ts: String(rest.ts ?? '') };
    default:
      // An order whose own MARKET/LIMIT took the `type` key.
      if (isOrderType(type) && looksLikeOrder(r)) return { type: 'order', order: r as unknown as Order };
      return null;
  }
}
