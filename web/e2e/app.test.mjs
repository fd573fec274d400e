// The app end to end, as a player uses it, against a real daemon at E2E_BASE_URL
// (started by e2e/run.sh). One player signs up, watches prices move, buys BTC, sees the
// fill and the portfolio change, fails an order with a readable reason, checks the
// rankings; then the cold-load timing, edge mode, English, and screenshots of every page.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DESKTOP, PHONE, launch, newContext } from './browser.mjs';

const BASE = (process.env.E2E_BASE_URL || 'http://127.0.0.1:8000').replace(/\/$/, '');
const SHOTS = process.env.E2E_SCREENSHOTS || resolve(dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots');
const BTC = 'CRYPTO-COIN-BTC';
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const user = { username: `e2e_${suffix}`, password: 'correct-horse-9', nickname: `테스터${suffix.slice(-4)}` };

let browser;
let context;
let page;
let storageState;
const consoleErrors = [];

/** Poll `fn` until it returns a truthy value or `timeout` ms pass. */
async function until(fn, timeout = 20000, what = 'condition') {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

async function go(p, hash) {
  await p.goto(`${BASE}/#${hash}`);
}

/** A screenshot of what the player sees (the viewport), from the top or scrolled to `scrollTo`. */
async function shoot(p, name, scrollTo) {
  mkdirSync(SHOTS, { recursive: true });
  await p.evaluate(() => document.activeElement?.blur?.());
  if (scrollTo) await p.locator(scrollTo).first().evaluate((e) => e.scrollIntoView({ block: 'start' }));
  else await p.evaluate(() => window.scrollTo(0, 0));
  await p.waitForTimeout(700); // let flashes and toasts settle
  await p.screenshot({ path: `${SHOTS}/${name}.png` });
}

/** A friend who trades through the HTTP API, so the rankings have company. */
async function friend(nickname, ticker, quantity) {
  const username = `f_${nickname.toLowerCase()}_${suffix}`.slice(0, 32);
  const post = (path, body, token) =>
    fetch(`${BASE}${path}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const r = await post('/api/auth/signup', { username, password: 'friend-password-1', nickname });
  assert.equal(r.status, 201, await r.text());
  const { access_token } = await (await post('/api/auth/login', { username, password: 'friend-password-1' })).json();
  const o = await post('/api/orders', { ticker_id: ticker, side: 'BUY', type: 'MARKET', quantity }, access_token);
  assert.equal(o.status, 202, await o.text());
}

before(async () => {
  browser = await launch();
  context = await newContext(browser);
  page = await context.newPage();
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
});

after(async () => {
  await browser?.close();
  if (consoleErrors.length) console.log('browser console errors:\n  ' + consoleErrors.join('\n  '));
});

describe('papertrade web app', { concurrency: false }, () => {
  it('refuses a bad sign-up in words, then signs up and lands on the portfolio', async () => {
    await go(page, '/signup');
    await page.fill('input[name=username]', 'No Caps!');
    await page.fill('input[name=password]', 'short');
    await page.fill('input[name=nickname]', 'x');
    await page.click('[data-testid=auth-submit]');
    assert.match(await page.textContent('[data-testid=auth-error]'), /아이디는 영문 소문자/);

    await page.fill('input[name=username]', user.username);
    await page.fill('input[name=password]', user.password);
    await page.fill('input[name=nickname]', user.nickname);
    await page.click('[data-testid=auth-submit]');
    await page.waitForSelector('[data-testid=equity]', { timeout: 20000 });
    assert.equal((await page.textContent('[data-testid=equity]')).trim(), '10,000,000원');
    assert.equal((await page.textContent('[data-testid=cash]')).trim(), '10,000,000원');
    storageState = await context.storageState();
  });

  it('says plainly that a username is taken', async () => {
    const c = await newContext(browser);
    const p = await c.newPage();
    await go(p, '/signup');
    await p.fill('input[name=username]', user.username);
    await p.fill('input[name=password]', user.password);
    await p.fill('input[name=nickname]', 'someone');
    await p.click('[data-testid=auth-submit]');
    await p.waitForSelector('[data-testid=auth-error]');
    assert.match(await p.textContent('[data-testid=auth-error]'), /이미 사용 중인 아이디/);
    await go(p, '/login');
    await p.fill('input[name=username]', user.username);
    await p.fill('input[name=password]', 'wrong-password');
    await p.click('[data-testid=auth-submit]');
    await p.waitForSelector('[data-testid=auth-error]');
    assert.match(await p.textContent('[data-testid=auth-error]'), /올바르지 않습니다|너무 많습니다/);
    await c.close();
  });

  it('shows markets with open/closed badges, search, and live prices that move', async () => {
    await go(page, '/markets');
    await page.waitForSelector(`[data-testid=price-${BTC}]`);
    assert.equal(await page.locator('.market-badge').count(), 3);
    const sel = `[data-testid=price-${BTC}]`;
    const first = await until(async () => {
      const t = (await page.textContent(sel)).trim();
      return t !== '—' && t;
    }, 20000, 'a BTC price');
    const moved = await until(async () => {
      const t = (await page.textContent(sel)).trim();
      return t !== first && t;
    }, 30000, 'the BTC price to move');
    assert.notEqual(moved, first);
    await page.fill('[data-testid=search]', '비트');
    await until(async () => (await page.locator('.mkt-row:not(.head)').count()) === 1, 5000, 'search to narrow');
    await page.fill('[data-testid=search]', '');
    await until(async () => (await page.getAttribute('[data-testid=conn]', 'data-state')) === 'live', 15000, 'live websocket');
  });

  it('shows the BTC chart and a readable error for a bad quantity', async () => {
    await go(page, `/i/${BTC}`);
    await page.waitForSelector('[data-testid=candle-chart] canvas', { timeout: 20000 });
    await until(async () => (await page.textContent('[data-testid=last-price]')).trim() !== '—', 20000, 'last price');
    await page.click('[data-testid=submit-order]');
    assert.match(await page.textContent('[data-testid=quantity-error]'), /수량을 0보다 큰 숫자로/);
  });

  it('buys BTC, sees the fill arrive as a toast and the portfolio change', async () => {
    await page.fill('[data-testid=quantity]', '0.001');
    assert.match(await page.textContent('[data-testid=est-total]'), /원/);
    await page.click('[data-testid=submit-order]');
    await page.waitForSelector('[data-testid=ticket-result]');
    assert.match(await page.textContent('[data-testid=ticket-result]'), /접수/);
    const toast = page.locator('[data-testid=toast]', { hasText: '체결' });
    await toast.first().waitFor({ timeout: 20000 });
    assert.match(await toast.first().textContent(), /비트코인/);
    await page.locator('[data-testid=order-row][data-status=FILLED]').first().waitFor({ timeout: 10000 });

    await go(page, '/');
    await page.waitForSelector(`[data-testid=position-${BTC}]`, { timeout: 15000 });
    assert.match(await page.textContent(`[data-testid=position-${BTC}]`), /0\.001/);
    const cash = (await page.textContent('[data-testid=cash]')).trim();
    assert.notEqual(cash, '10,000,000원');
    assert.match(cash, /^[\d,]+원$/);
  });

  it('fails an order with a reason the player understands', async () => {
    await go(page, `/i/${BTC}`);
    await page.waitForSelector('[data-testid=quantity]');
    await page.fill('[data-testid=quantity]', '1000');
    await page.waitForSelector('.warnings'); // the ticket already warns, but lets it through
    await page.click('[data-testid=submit-order]');
    const toast = page.locator('[data-testid=toast]', { hasText: '주문 실패' });
    await toast.first().waitFor({ timeout: 20000 });
    assert.match(await toast.first().textContent(), /현금이 부족합니다/);

    await go(page, '/orders');
    const failed = page.locator('[data-testid=order-row][data-status=FAILED]').first();
    await failed.waitFor({ timeout: 10000 });
    assert.match(await failed.locator('[data-testid=order-reason]').textContent(), /현금이 부족합니다/);
    assert.equal(await page.locator('[data-testid=order-row][data-status=FILLED]').count(), 1);
  });

  it('places and cancels a limit order', async () => {
    await go(page, `/i/${BTC}`);
    await page.waitForSelector('[data-testid=quantity]');
    await page.click('[data-testid=type-limit]');
    await page.fill('[data-testid=limit-price]', '1000'); // far below the market: stays pending
    await page.fill('[data-testid=quantity]', '0.001');
    await page.click('[data-testid=submit-order]');
    await page.waitForSelector('[data-testid=ticket-result]');
    await go(page, '/orders');
    const pending = page.locator('[data-testid=order-row][data-status=PENDING]').first();
    await pending.waitFor({ timeout: 10000 });
    await pending.locator('[data-testid=cancel-order]').click();
    await page.locator('[data-testid=order-row][data-status=CANCELLED]').first().waitFor({ timeout: 10000 });
  });

  it('ranks the player in KRW with a return %', async () => {
    await friend('Minji', 'CRYPTO-COIN-ETH', '0.5');
    await friend('Jun', 'CRYPTO-COIN-DOGE', '3000');
    await go(page, '/rankings');
    await until(async () => (await page.locator('[data-testid=rank-row]').count()) >= 3, 10000, 'three players');
    const mine = page.locator('[data-testid=rank-row].mine');
    await mine.waitFor({ timeout: 10000 });
    const text = await mine.textContent();
    assert.ok(text.includes(user.nickname), text);
    assert.match(text, /원/);
    assert.match(text, /%/);
  });

  it('measures the time to first live price on a cold load', async () => {
    storageState = await context.storageState(); // now with the cached instruments and prices
    const c = await newContext(browser, { storageState });
    const p = await c.newPage();
    const t0 = Date.now();
    await p.goto(`${BASE}/#/markets`);
    await p.waitForFunction(() => performance.getEntriesByName('pt:first-live-quote').length > 0, null, { timeout: 20000 });
    const wall = Date.now() - t0;
    const marks = await p.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const at = (n) => Math.round(performance.getEntriesByName(n)[0]?.startTime ?? -1);
      return {
        domContentLoaded: Math.round(nav.domContentLoadedEventEnd),
        firstPrice: at('pt:first-quote'),
        firstLivePrice: at('pt:first-live-quote'),
        transferredKB: Math.round(performance.getEntriesByType('resource').reduce((s, r) => s + (r.transferSize || 0), nav.transferSize || 0) / 1024),
      };
    });
    console.log(`cold load: DOMContentLoaded ${marks.domContentLoaded} ms, first price ${marks.firstPrice} ms, first live (websocket) price ${marks.firstLivePrice} ms, wall ${wall} ms, ${marks.transferredKB} KB transferred`);
    assert.ok(marks.firstPrice > 0 && marks.firstPrice < 5000, `first price after ${marks.firstPrice} ms`);
    await c.close();
  });

  it('says plainly when the home server is unreachable and that orders still queue (edge mode)', async () => {
    const c = await newContext(browser, { storageState });
    const p = await c.newPage();
    // The edge answers POST /api/orders itself; everything else fails like a cut tunnel.
    await p.route('**/api/**', (route) => {
      const r = route.request();
      if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/orders') return route.continue();
      return route.fulfill({ status: 502, contentType: 'text/plain', body: 'Bad Gateway' });
    });
    await p.route('**/healthz', (route) => route.fulfill({ status: 502, body: 'Bad Gateway' }));
    await p.routeWebSocket(/\/ws$/, (ws) => ws.close());
    await go(p, `/i/${BTC}`);
    await p.waitForSelector('[data-testid=offline-banner]', { timeout: 15000 });
    assert.match(await p.textContent('[data-testid=offline-banner]'), /집 서버에 연결할 수 없습니다.*주문은 계속 접수/);
    // The last instruments and prices seen are cached, so the ticket still works.
    await p.waitForSelector('[data-testid=quantity]', { timeout: 15000 });
    await p.fill('[data-testid=quantity]', '0.0001');
    await p.click('[data-testid=submit-order]');
    await p.waitForSelector('[data-testid=ticket-result]');
    assert.match(await p.textContent('[data-testid=ticket-result]'), /대기열/);
    await shoot(p, 'offline-desktop');
    await c.close();
  });

  it('switches to English and remembers it', async () => {
    await go(page, '/markets');
    await page.click('.sidebar [data-testid=lang]');
    await page.waitForSelector('text=Markets');
    await page.reload();
    await page.waitForSelector('.sidebar >> text=Rankings');
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await page.click('.sidebar [data-testid=lang]');
    await page.waitForSelector('.sidebar >> text=랭킹');
  });

  it('takes screenshots of every page, desktop and phone', async () => {
    for (const [vpName, viewport] of [
      ['desktop', DESKTOP],
      ['phone', PHONE],
    ]) {
      const anon = await newContext(browser, { viewport });
      const a = await anon.newPage();
      await go(a, '/login');
      await a.waitForSelector('[data-testid=auth-submit]');
      await shoot(a, `login-${vpName}`);
      await anon.close();

      const c = await newContext(browser, { viewport, storageState });
      const p = await c.newPage();
      await go(p, '/');
      await p.waitForSelector('[data-testid=equity]');
      await p.waitForTimeout(1500);
      await shoot(p, `portfolio-${vpName}`);
      await go(p, '/markets');
      await p.waitForSelector(`[data-testid=price-${BTC}]`);
      await p.waitForTimeout(1500);
      await shoot(p, `markets-${vpName}`);
      await go(p, `/i/${BTC}`);
      await p.waitForSelector('[data-testid=candle-chart] canvas');
      await p.fill('[data-testid=quantity]', '0.002');
      await p.waitForTimeout(2000);
      await shoot(p, `instrument-${vpName}`);
      if (viewport === PHONE) await shoot(p, `instrument-ticket-${vpName}`, '[data-testid=ticket]');
      await go(p, '/i/US-STOCK-AAPL');
      await p.waitForSelector('[data-testid=candle-chart] canvas');
      await p.fill('[data-testid=quantity]', '3');
      await p.waitForTimeout(1500);
      await shoot(p, `instrument-us-${vpName}`, viewport === PHONE ? '[data-testid=ticket]' : undefined);
      await go(p, '/orders');
      await p.waitForSelector('[data-testid=order-row]');
      await shoot(p, `orders-${vpName}`);
      await go(p, '/rankings');
      await p.waitForSelector('[data-testid=rank-row]');
      await shoot(p, `rankings-${vpName}`);
      await c.close();
    }
    // The light theme and the English switch, once each.
    const light = await newContext(browser, { storageState, colorScheme: 'light' });
    const l = await light.newPage();
    await go(l, '/');
    await l.waitForSelector('[data-testid=equity]');
    await l.waitForTimeout(1000);
    await shoot(l, 'portfolio-light-desktop');
    await light.close();
    const en = await newContext(browser, { storageState, viewport: PHONE });
    const e = await en.newPage();
    await go(e, '/markets');
    await e.click('.topbar [data-testid=lang]');
    await e.waitForSelector('.tabbar >> text=Markets');
    await e.waitForTimeout(1000);
    await shoot(e, 'markets-en-phone');
    await en.close();
  });
});
