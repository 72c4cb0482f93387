// What the browser tests share: Debian's Chromium through playwright-core,
// a page that records every request it makes and every script error, the
// check that none of those requests left the session's origin, and the
// screenshot, taken whatever happened.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const WAIT = 60000;

export function env(k) {
  const v = process.env[k];
  if (!v) throw new Error(`${path.basename(process.argv[1])}: ${k} is not set`);
  return v;
}

export function step(what) {
  console.log(`# ${what}`);
}

export async function until(what, fn, ms = WAIT) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      if (await fn()) return;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

// Run body(page) on a fresh page of the dashboard at DW_URL (loaded, its
// event stream live), then check that nothing was asked of another origin
// and no script failed, and save the screenshot to DW_SHOT in any case.
// initScript, when given, runs in the page before its own scripts.
export async function withDashboard(body, initScript) {
  const base = env('DW_URL');
  const shot = env('DW_SHOT');
  const origin = new URL(base).origin;
  const browser = await chromium.launch({
    executablePath: env('DW_CHROMIUM'),
    headless: true,
    // Root in a container has no user namespace for the sandbox.
    args: ['--no-sandbox'],
  });
  const requests = [];
  const errors = [];
  let page;
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    if (initScript) await context.addInitScript(initScript);
    page = await context.newPage();
    page.on('request', (r) => requests.push(r.url()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

    step('load the dashboard');
    const resp = await page.goto(base);
    assert.equal(resp.status(), 200);
    assert.match(resp.headers()['content-security-policy'] || '', /default-src 'none'/);
    await page.waitForSelector('#conn.live', { timeout: WAIT });

    await body(page, base);

    step('nothing asked of another origin, no script errors');
    const foreign = requests.filter((u) => new URL(u).origin !== origin);
    assert.deepEqual(foreign, [], 'requests outside the session');
    assert.ok(requests.some((u) => u.includes('/api/events')), 'the page never opened /api/events');
    assert.deepEqual(errors, [], 'errors on the page');
  } finally {
    if (page) {
      fs.mkdirSync(path.dirname(shot), { recursive: true });
      await page.screenshot({ path: shot, fullPage: true }).catch((e) => console.error('no screenshot:', e.message));
      console.log(`# screenshot: ${shot}`);
    }
    await browser.close();
  }
}
