// The web app in Debian's chromium against the lab's edge, from the `internet` namespace
// (tests/ops/test_two_hosts.py runs it with `ip netns exec`). Two phases, one browser each:
//
//   node browser_offline.mjs online  STATE.json  -- logs in, opens the BTC page (prices and
//                                                    instruments get cached), saves the session
//   node browser_offline.mjs offline STATE.json  -- home is unreachable now: the banner says
//                                                    orders still queue, an order is placed and
//                                                    the ticket says it waits in the queue
//
// Environment: LAB_HOST (the edge's name), LAB_ADDRESS (its public address), LAB_SPKI (base64
// SHA-256 of the certificate's public key: chromium trusts exactly that key), LAB_USER,
// LAB_PASSWORD, LAB_SHOTS (a folder for screenshots). Prints the ticket's text on success.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ARGS, CHROMIUM, newContext } from '../../web/e2e/browser.mjs';

// playwright-core is the web app's dev dependency: resolve it from web/, as browser.mjs does.
const { chromium } = createRequire(new URL('../../web/package.json', import.meta.url))('playwright-core');

const [phase, statePath] = process.argv.slice(2);
const { LAB_HOST, LAB_ADDRESS, LAB_SPKI, LAB_USER, LAB_PASSWORD, LAB_SHOTS } = process.env;
const BASE = `https://${LAB_HOST}`;
const BTC = 'CRYPTO-COIN-BTC';

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    ...ARGS,
    `--host-resolver-rules=MAP ${LAB_HOST} ${LAB_ADDRESS}`,
    `--ignore-certificate-errors-spki-list=${LAB_SPKI}`,
  ],
});
try {
  if (phase === 'online') {
    const context = await newContext(browser);
    const page = await context.newPage();
    await page.goto(`${BASE}/#/login`);
    await page.fill('input[name=username]', LAB_USER);
    await page.fill('input[name=password]', LAB_PASSWORD);
    await page.click('[data-testid=auth-submit]');
    await page.waitForSelector('[data-testid=equity]', { timeout: 20000 });
    await page.goto(`${BASE}/#/i/${BTC}`);
    await page.waitForSelector('[data-testid=quantity]', { timeout: 15000 });
    await page.waitForFunction(() => performance.getEntriesByName('pt:first-live-quote').length > 0, null, { timeout: 20000 });
    writeFileSync(statePath, JSON.stringify(await context.storageState()));
    console.log('online: logged in, BTC page live over the websocket');
  } else if (phase === 'offline') {
    const context = await newContext(browser, { storageState: statePath });
    const page = await context.newPage();
    await page.goto(`${BASE}/#/i/${BTC}`);
    await page.waitForSelector('[data-testid=offline-banner][data-mode=edge]', { timeout: 40000 });
    const banner = await page.textContent('[data-testid=offline-banner]');
    await page.waitForSelector('[data-testid=quantity]', { timeout: 15000 });
    await page.fill('[data-testid=quantity]', '0.0002');
    await page.click('[data-testid=submit-order]');
    await page.waitForSelector('[data-testid=ticket-result]', { timeout: 20000 });
    const result = await page.textContent('[data-testid=ticket-result]');
    await page.screenshot({ path: `${LAB_SHOTS}/lab-home-offline.png`, fullPage: true });
    console.log(JSON.stringify({ banner, result }));
  } else {
    throw new Error(`usage: browser_offline.mjs online|offline STATE.json (got ${phase})`);
  }
} finally {
  await browser.close();
}
