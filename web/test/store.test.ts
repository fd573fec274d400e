import { describe, expect, it, vi } from 'vitest';
import { getState, initialState, setState, subscribe } from '../src/state/store';

describe('store', () => {
  it('starts signed out, in Korean, with nothing loaded', () => {
    const s = initialState();
    expect(s.lang).toBe('ko');
    expect(s.token).toBeNull();
    expect(s.home).toBe('unknown');
    expect(s.orders).toEqual([]);
  });

  it('notifies only on a real change', () => {
    const fn = vi.fn();
    const off = subscribe(fn);
    const before = getState();
    setState({ lang: before.lang });
    expect(fn).not.toHaveBeenCalled();
    expect(getState()).toBe(before);
    setState((s) => ({ home: s.home === 'online' ? 'offline' : 'online' }));
    expect(fn).toHaveBeenCalledTimes(1);
    expect(getState()).not.toBe(before);
    off();
    setState({ home: 'unknown' });
    expect(fn).toHaveBeenCalledTimes(1);
  });
});
