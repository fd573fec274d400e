/**
 * Sending one order submission. The client_order_id is minted once per order the player
 * submits and reused on every retry of it (no answer, a timeout, 502/503/504: the outcome is
 * unknown), so the server records it at most once (SPEC 6: a repeated id is the same order).
 */
import { ApiError } from './api';
import type { NewOrder, Order } from './types';

export type OrderFields = Omit<NewOrder, 'client_order_id'>;

/** Whether an error leaves the order's fate unknown, so the same submission must be retried. */
export function outcomeUnknown(e: unknown): boolean {
  return e instanceof ApiError && e.unreachable;
}

const FIELDS: ReadonlyArray<keyof OrderFields> = [
  'ticker_id',
  'side',
  'type',
  'quantity',
  'amount_krw',
  'limit_price',
  'stop_price',
  'trail_percent',
  'trail_amount',
  'time_in_force',
];

function sameOrder(a: OrderFields, b: OrderFields): boolean {
  return FIELDS.every((k) => (a[k] ?? null) === (b[k] ?? null));
}

/**
 * The body to send for `fields`: the unresolved earlier submission when it asked for the same
 * order (its outcome is unknown, so this is a retry of it), else a new one with a new id.
 */
export function submissionFor(fields: OrderFields, unresolved: NewOrder | null, mint: () => string): NewOrder {
  if (unresolved && sameOrder(fields, unresolved)) return unresolved;
  return { ...fields, client_order_id: mint() };
}

/** Waits between automatic retries of one submission: a few, with backoff. */
export const RETRY_DELAYS_MS = [800, 1600, 3200];

/** Send `body`, retrying it unchanged after each delay while the outcome is unknown. */
export async function sendWithRetries(
  send: (body: NewOrder) => Promise<Order>,
  body: NewOrder,
  delays: readonly number[] = RETRY_DELAYS_MS,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): Promise<Order> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await send(body);
    } catch (e) {
      if (!outcomeUnknown(e) || attempt >= delays.length) throw e;
      await sleep(delays[attempt]);
    }
  }
}
