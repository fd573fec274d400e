import { describe, expect, it } from 'vitest';
import { ApiError } from '../src/lib/api';
import { submissionFor, sendWithRetries } from '../src/lib/submit';
import type { NewOrder, Order } from '../src/lib/types';

const fields = { ticker_id: 'CRYPTO-COIN-BTC', side: 'BUY' as const, type: 'MARKET' as const, quantity: '0.001' };
const noSleep = async () => {};

describe('order submissions', () => {
  it('retries an unknown outcome with the same client_order_id, never a new one', async () => {
    const seen: string[] = [];
    const answers: Array<() => Order> = [
      () => {
        throw new ApiError(503, 'outcome unknown: retry with the same client_order_id');
      },
      () => {
        throw new ApiError(0, 'no answer');
      },
      () => ({ id: 'o1' }) as Order,
    ];
    const send = async (b: NewOrder) => {
      seen.push(b.client_order_id!);
      return answers[seen.length - 1]();
    };
    let minted = 0;
    const body = submissionFor(fields, null, () => `id-${++minted}`);
    const order = await sendWithRetries(send, body, [1, 1, 1], noSleep);
    expect(order.id).toBe('o1');
    expect(seen).toEqual(['id-1', 'id-1', 'id-1']);
    expect(minted).toBe(1);
  });

  it('gives up after a few tries, and the player retries the same submission', async () => {
    const send = async () => {
      throw new ApiError(503, 'broker did not confirm');
    };
    const body = submissionFor(fields, null, () => 'first');
    await expect(sendWithRetries(send, body, [1, 1], noSleep)).rejects.toThrow(ApiError);
    // Pressing "buy" again for the same order is a retry of it, not a new order...
    expect(submissionFor({ ...fields }, body, () => 'second').client_order_id).toBe('first');
    // ...while a different order gets its own id.
    expect(submissionFor({ ...fields, quantity: '0.002' }, body, () => 'second').client_order_id).toBe('second');
  });

  it('does not retry an order the server refused', async () => {
    let calls = 0;
    const send = async () => {
      calls++;
      throw new ApiError(400, 'quantity must be greater than 0');
    };
    await expect(sendWithRetries(send, submissionFor(fields, null, () => 'x'), [1, 1], noSleep)).rejects.toThrow('quantity');
    expect(calls).toBe(1);
  });
});
