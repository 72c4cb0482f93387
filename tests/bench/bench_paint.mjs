// First-contentful-paint of a page in headless Chromium (Debian's
// /usr/bin/chromium through playwright-core from tests/browser), for
// bench_api.py. Usage: node bench_paint.mjs URL LOADS [--card]
// Prints {"fcp": [ms...], "card": [ms...]}: Chromium's own
// first-contentful-paint entry for each load, each in a fresh context (no
// cache, no connection reused), and with --card, the time the dashboard's
// first container card appeared (a MutationObserver set up before the
// page's scripts run).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../browser/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [url, loadsArg, cardArg] = process.argv.slice(2);
const loads = Number(loadsArg);
if (!url || !(loads > 0)) {
  console.error('usage: node bench_paint.mjs URL LOADS [--card]');
  process.exit(2);
}

function watchCard() {
  new MutationObserver((_, obs) => {
    if (document.querySelector('.card')) {
      window.__card = performance.now();
      obs.disconnect();
    }
  }).observe(document, { childList: true, subtree: true });
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
const fcp = [];
const card = [];
try {
  for (let i = 0; i < loads; i++) {
    const context = await browser.newContext();
    await context.addInitScript(watchCard);
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    fcp.push(await page.evaluate(() => new Promise((resolve) => {
      new PerformanceObserver((list) => {
        const e = list.getEntriesByName('first-contentful-paint')[0];
        if (e) resolve(e.startTime);
      }).observe({ type: 'paint', buffered: true });
    })));
    if (cardArg === '--card') {
      await page.waitForSelector('.card');
      card.push(await page.evaluate(() => window.__card));
    }
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify({ fcp, card }));
