/** A tiny hash router: #/markets, #/i/CRYPTO-COIN-BTC, #/orders/{id}, … Works from any static file server. */
import { useSyncExternalStore } from 'react';

export type Route =
  | { page: 'home' }
  | { page: 'markets' }
  | { page: 'instrument'; tickerId: string }
  | { page: 'orders' }
  | { page: 'order'; id: string }
  | { page: 'rankings' }
  | { page: 'user'; userId: string }
  | { page: 'login'; mode: 'login' | 'signup' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/+/, '').split('?')[0];
  const [head, ...rest] = path.split('/');
  switch (head) {
    case 'markets':
      return { page: 'markets' };
    case 'i':
      return rest[0] ? { page: 'instrument', tickerId: decodeURIComponent(rest[0]).toUpperCase() } : { page: 'markets' };
    case 'orders':
      return rest[0] ? { page: 'order', id: decodeURIComponent(rest[0]) } : { page: 'orders' };
    case 'rankings':
      return { page: 'rankings' };
    case 'u':
      return rest[0] ? { page: 'user', userId: decodeURIComponent(rest[0]) } : { page: 'rankings' };
    case 'login':
      return { page: 'login', mode: 'login' };
    case 'signup':
      return { page: 'login', mode: 'signup' };
    default:
      return { page: 'home' };
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case 'home':
      return '#/';
    case 'instrument':
      return `#/i/${encodeURIComponent(route.tickerId)}`;
    case 'user':
      return `#/u/${encodeURIComponent(route.userId)}`;
    case 'order':
      return `#/orders/${encodeURIComponent(route.id)}`;
    case 'login':
      return route.mode === 'signup' ? '#/signup' : '#/login';
    default:
      return `#/${route.page}`;
  }
}

export function navigate(route: Route, replace = false): void {
  const h = href(route);
  if (replace) history.replaceState(null, '', h);
  else if (location.hash !== h) location.hash = h;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

function subscribe(cb: () => void): () => void {
  window.addEventListener('hashchange', cb);
  return () => window.removeEventListener('hashchange', cb);
}

export function useHash(): string {
  return useSyncExternalStore(subscribe, () => location.hash, () => '');
}
