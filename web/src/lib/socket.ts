/**
 * The one websocket to /ws: authenticates, keeps reference-counted subscriptions,
 * reconnects with exponential backoff and jitter, and watches for a silent connection.
 */
import { type Message, parseMessage } from './messages';
import type { OrderType } from './types';

export type SocketStatus = 'connecting' | 'open' | 'closed';

export interface SocketOptions {
  url: () => string;
  token: () => string | null;
  onMessage: (msg: Message) => void;
  /** MARKET/LIMIT of an order we know, for order events that lost it (see messages.ts). */
  knownOrderType?: (orderId: string) => OrderType | undefined;
  onStatus: (status: SocketStatus, failedAttempts: number) => void;
  /** The server closed with 1008 (policy violation): our token is not accepted. */
  onRejected?: (reason: string) => void;
  /** Injected for tests. */
  WebSocketImpl?: typeof WebSocket;
  random?: () => number;
  /** No message (the server sends a heartbeat every ~15 s) for this long means a dead link. */
  silenceMs?: number;
  pingMs?: number;
}

/** Delay before reconnect attempt `n` (0-based): 0.5 s doubling to 30 s, with ±25 % jitter. */
export function backoffDelay(n: number, random: () => number = Math.random): number {
  const base = Math.min(30000, 500 * 2 ** Math.min(n, 10));
  return Math.round(base * (0.75 + random() * 0.5));
}

/** ws(s)://<this host>/ws, matching the page's scheme. */
export function defaultSocketUrl(): string {
  const { protocol, host } = window.location;
  return `${protocol === 'https:' ? 'wss' : 'ws'}://${host}/ws`;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private readonly refs = new Map<string, number>();
  private failed = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private lastMessageAt = 0;
  private running = false;
  private readonly opts: Required<Omit<SocketOptions, 'WebSocketImpl'>> & { WebSocketImpl: typeof WebSocket };

  constructor(opts: SocketOptions) {
    this.opts = {
      random: Math.random,
      knownOrderType: () => undefined,
      onRejected: undefined,
      silenceMs: 40000,
      pingMs: 20000,
      WebSocketImpl: opts.WebSocketImpl ?? globalThis.WebSocket,
      ...opts,
    } as LiveSocket['opts'];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.retryTimer = this.pingTimer = null;
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onclose = ws.onmessage = ws.onerror = null;
      ws.close();
    }
    this.opts.onStatus('closed', this.failed);
  }

  /** Send the current token (after login); the server then streams our order events. */
  authenticate(): void {
    const token = this.opts.token();
    if (token) this.send({ op: 'auth', token });
  }

  /** Reconnect now, skipping any backoff wait (e.g. when the page becomes visible again). */
  nudge(): void {
    if (!this.running || (this.ws && this.ws.readyState <= 1)) return;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  /** Subscribe to tickers ("*" for all) until the returned function is called. */
  subscribe(tickers: string[]): () => void {
    const added = tickers.filter((t) => {
      const n = this.refs.get(t) ?? 0;
      this.refs.set(t, n + 1);
      return n === 0;
    });
    if (added.length) this.send({ op: 'subscribe', tickers: added });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const removed = tickers.filter((t) => {
        const n = (this.refs.get(t) ?? 1) - 1;
        if (n <= 0) this.refs.delete(t);
        else this.refs.set(t, n);
        return n <= 0;
      });
      if (removed.length) this.send({ op: 'unsubscribe', tickers: removed });
    };
  }

  subscriptions(): string[] {
    return [...this.refs.keys()];
  }

  private send(msg: unknown): void {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(msg));
  }

  private connect(): void {
    this.opts.onStatus('connecting', this.failed);
    let ws: WebSocket;
    try {
      ws = new this.opts.WebSocketImpl(this.opts.url());
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.failed = 0;
      this.lastMessageAt = Date.now();
      this.authenticate();
      const subs = this.subscriptions();
      if (subs.length) this.send({ op: 'subscribe', tickers: subs });
      this.opts.onStatus('open', 0);
      this.startPing();
    };
    ws.onmessage = (ev: MessageEvent) => {
      this.lastMessageAt = Date.now();
      const msg = parseMessage(ev.data, this.opts.knownOrderType);
      if (msg) this.opts.onMessage(msg);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
    ws.onclose = (ev: CloseEvent) => {
      if (ev && ev.code === 1008 && this.opts.onRejected) this.opts.onRejected(ev.reason);
      this.dropped(ws, opened);
    };
  }

  private dropped(ws: WebSocket, opened: boolean): void {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (!opened) this.failed += 1;
    if (this.running) this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.opts.onStatus('closed', this.failed);
    const delay = backoffDelay(this.failed, this.opts.random);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.running) this.connect();
    }, delay);
  }

  private startPing(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = setInterval(() => {
      if (Date.now() - this.lastMessageAt > this.opts.silenceMs) {
        // A half-open link: close it ourselves so onclose schedules a reconnect.
        const ws = this.ws;
        if (ws) {
          ws.close();
          this.dropped(ws, false);
        }
        return;
      }
      this.send({ op: 'ping' });
    }, Math.min(this.opts.pingMs, this.opts.silenceMs / 2));
  }
}
