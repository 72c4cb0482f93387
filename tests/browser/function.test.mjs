// The dashboard of `devwatch up` on samples/function, in headless Chromium
// (test_dashboard_function.sh starts it; DW_URL, DW_HANDLER, DW_SHOT and
// DW_CHROMIUM as for dashboard.test.mjs). The function's card is tagged a
// function; its detail view invokes it with a JSON event and shows the
// response; a payload that is not JSON is refused on the page; an edit of
// the handler is an update row with its restart time, and the next
// invocation from the page runs the new code.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { WAIT, env, step, withDashboard } from './browser.mjs';

const handler = env('DW_HANDLER');

async function invoke(page, payload, expect) {
  await page.fill('#d-payload', payload);
  await page.click('#d-invoke button[type=submit]');
  await page.waitForFunction((t) => document.querySelector('#d-invoke-out').textContent.includes(t),
    expect, { timeout: WAIT });
  return page.textContent('#d-invoke-out');
}

await withDashboard(async (page) => {
  step('the function container: its card, tagged a function');
  const card = page.locator('.card', { has: page.locator('.title', { hasText: /^hello$/ }) });
  await card.locator('.state.ready').waitFor({ timeout: WAIT });
  assert.equal(await card.locator('.tag').textContent(), 'function');

  step('invoke it from its detail view');
  await card.click();
  await page.locator('#d-invoke').waitFor({ timeout: WAIT });
  assert.equal(await page.textContent('#d-name'), 'hello');
  const out = await invoke(page, '{"name": "browser"}', 'hello, browser!');
  assert.match(out, /"message": "hello, browser!"/);
  assert.doesNotMatch(await page.getAttribute('#d-invoke-out', 'class'), /bad/);

  step('a payload that is not JSON is refused before it is sent');
  assert.match(await invoke(page, 'not json', 'not JSON'), /^not JSON: /);

  step('edit the handler: an update row with its restart, then the new code answers');
  const before = Math.max(0, ...(await page.$$eval('#updates > li', (ls) => ls.map((l) => Number(l.dataset.id)))));
  const text = fs.readFileSync(handler, 'utf8');
  assert.ok(text.includes('"%s, %s!"'), 'the handler is not as shipped');
  fs.writeFileSync(handler, text.replace('"%s, %s!"', '"%s, %s! (edited in the browser test)"'));
  await page.waitForFunction((a) => [...document.querySelectorAll('#updates > li.update.ok')].some(
    (l) => Number(l.dataset.id) > a && l.querySelector('.files').textContent.includes('handler/handler.py')),
  before, { timeout: WAIT });
  assert.match(await page.locator('#updates > li.update.ok').first().locator('.stages').textContent(), /restart \d/);
  await invoke(page, '{"name": "again"}', 'hello, again! (edited in the browser test)');
});
console.log('dashboard (function): every check passed');
