// The dashboard of a running `devwatch up` (the website sample), in
// headless Chromium through playwright-core. test_dashboard.sh starts the
// session and passes:
//   DW_URL        the control API, http://127.0.0.1:PORT/
//   DW_SITE       the sample's local site/ folder (synced to /www)
//   DW_CONTAINER  the web container's engine name
//   DW_SHOT       where the screenshot goes
//   DW_CHROMIUM   the browser (Debian's /usr/bin/chromium)
//
// It checks what a person would look at: the container with its state,
// readiness and URL as a link that serves the site; an edit showing up as a
// new update row with its file and its time; a failed run step's output
// and the card marked failing until the next save fixes it; a large sync's
// progress on the card, ended by its update; the log filter;
// the Trigger button putting back a file changed by hand in the container;
// the Restart button; a rebuild with its build lines and its row; and that
// the page asked nothing of any other origin.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WAIT, env, step, until, withDashboard } from './browser.mjs';

const site = env('DW_SITE');
const container = env('DW_CONTAINER');

async function served(url) {
  const r = await fetch(url, { cache: 'no-store' });
  assert.equal(r.status, 200, `${url} answered ${r.status}`);
  return r.text();
}

// The ids of the update rows on the page now.
const rowIds = (page) => page.$$eval('#updates > li', (ls) => ls.map((l) => Number(l.dataset.id)));

// The newest update row for FILE (a substring of its file list) with an id
// above AFTER, once it is there: {id, when, total, files, result, output}.
async function newRow(page, after, file, result) {
  const sel = `#updates > li.update.${result}`;
  await page.waitForFunction(([s, a, f]) => [...document.querySelectorAll(s)].some(
    (l) => Number(l.dataset.id) > a && l.querySelector('.files').title.split('\n').some((n) => n.includes(f))),
  [sel, after, file], { timeout: WAIT });
  return page.$$eval(sel, (ls, [a, f]) => {
    const l = ls.find((x) => Number(x.dataset.id) > a &&
      x.querySelector('.files').title.split('\n').some((n) => n.includes(f)));
    const out = l.querySelector('.output');
    return {
      id: Number(l.dataset.id),
      when: l.querySelector('.when').textContent,
      total: l.querySelector('.total').textContent,
      files: l.querySelector('.files').title.split('\n'),
      stages: l.querySelector('.stages').textContent,
      output: out && !out.hidden ? out.textContent : null,
    };
  }, [after, file]);
}

// Every progress line a card showed, however briefly.
function recordBusy() {
  window.__busy = [];
  new MutationObserver((records) => {
    for (const r of records)
      for (const n of r.addedNodes)
        if (n.nodeType === 1)
          for (const b of [n, ...n.querySelectorAll('.busy')])
            if (b.classList.contains('busy')) window.__busy.push(b.textContent);
  }).observe(document, { childList: true, subtree: true });
}

await withDashboard(async (page, base) => {
  step('the container, its state and URL as a link that serves the site');
  const card = page.locator('.card', { has: page.locator('.title', { hasText: /^web$/ }) });
  await card.locator('.state.ready').waitFor({ timeout: WAIT });
  assert.match(await card.locator('.what').textContent(), /ready/);
  const href = await card.locator('.links a').first().getAttribute('href');
  assert.match(href, /^http:\/\/127\.0\.0\.1:\d+\/$/, `the URL link is ${href}`);
  assert.notEqual(new URL(href).port, '8080');
  assert.match(await served(href), /Hello from devwatch/);

  step('edit site/index.html: a new update row with its file and time');
  let before = Math.max(0, ...(await rowIds(page)));
  const marker = `edited by the browser test ${Date.now()}`;
  const index = path.join(site, 'index.html');
  fs.writeFileSync(index, fs.readFileSync(index, 'utf8').replace('</body>', `<p>${marker}</p>\n</body>`));
  let row = await newRow(page, before, 'site/index.html', 'ok');
  console.log('  row:', JSON.stringify(row));
  assert.match(row.when, /^\d\d:\d\d:\d\d$/, 'the row has no clock time');
  assert.match(row.total, /^\d+(\.\d+)? (ms|s)$/, 'the row has no total time');
  assert.match(row.stages, /settle \d/, 'the row has no settle time');
  assert.match(row.stages, /transfer \d/, 'the row has no transfer time');
  await until('the edit to be served', async () => (await served(href + 'index.html')).includes(marker));

  step('a failing run step: its output on the row');
  before = row.id;
  const header = path.join(site, 'partials', 'header.html');
  const headerText = fs.readFileSync(header, 'utf8');
  fs.unlinkSync(header);
  row = await newRow(page, before, 'site/partials/header.html', 'failed');
  console.log('  row:', JSON.stringify(row));
  assert.ok(row.output, 'the failed row does not show its output');
  assert.match(row.output, /can't open '\/www\/partials\/header\.html'/, 'not the step\'s output');
  await page.locator('.card.failing', { hasText: 'update failed' }).waitFor({ timeout: WAIT });
  fs.writeFileSync(header, headerText);
  row = await newRow(page, row.id, 'site/partials/header.html', 'ok');
  assert.match(row.stages, /run 'sh \/www\/build\.sh' \d/, 'the run step has no time of its own');
  await page.waitForFunction(() => !document.querySelector('.card.failing'), null, { timeout: WAIT });

  step('a large sync: its progress on the card, ended by its update row');
  // Made beside the project and moved in: one change of 600 files.
  const bulk = path.join(path.dirname(path.dirname(site)), 'bulk');
  fs.mkdirSync(bulk);
  for (let i = 0; i < 600; i++) fs.writeFileSync(path.join(bulk, `f${i}.txt`), `bulk file ${i}\n`.repeat(20));
  fs.renameSync(bulk, path.join(site, 'bulk'));
  row = await newRow(page, row.id, 'site/bulk/', 'ok');
  console.log('  row:', JSON.stringify({ ...row, files: row.files.length }));
  assert.match(await page.locator(`#updates > li[data-id="${row.id}"] .files`).textContent(), /\+597 more/);
  const busy = await page.evaluate(() => window.__busy);
  assert.ok(busy.some((t) => /^syncing 600 files, [\d.]+ MB$/.test(t)), `progress lines: ${JSON.stringify(busy)}`);
  await page.waitForFunction(() => !document.querySelector('.card .busy'), null, { timeout: WAIT });
  fs.rmSync(path.join(site, 'bulk'), { recursive: true });
  row = await newRow(page, row.id, 'site/bulk/', 'ok');
  // (An rm -r can come as several updates, and a row's count of paths can
  // exceed its removals: then it says "N removed".)
  assert.match(await page.locator(`#updates > li[data-id="${row.id}"] .removed`).textContent(), /^(\d+ )?removed$/,
    'a row of deletions does not say so');

  step('the log filter');
  await page.fill('#filter', "can't open");
  await page.waitForFunction(() => document.querySelectorAll('#logs .line').length > 0, null, { timeout: WAIT });
  const lines = await page.$$eval('#logs .line .msg', (ls) => ls.map((l) => l.textContent));
  assert.ok(lines.length > 0 && lines.every((l) => l.includes("can't open")), `filtered lines: ${lines}`);
  await page.fill('#filter', '/^no line matches this$/');
  await page.waitForFunction(() => document.querySelectorAll('#logs .line').length === 0, null, { timeout: WAIT });
  await page.fill('#filter', '');

  step('Trigger: a file changed by hand in the container is put back');
  execFileSync('docker', ['exec', container, 'sh', '-c', 'echo by-hand >/www/index.html']);
  assert.equal((await served(href + 'index.html')).trim(), 'by-hand');
  before = Math.max(0, ...(await rowIds(page)));
  await card.getByRole('button', { name: 'Trigger' }).click();
  await page.locator('.toast', { hasText: 'Triggered web' }).waitFor({ timeout: WAIT });
  row = await newRow(page, before, 'site/style.css', 'ok');
  console.log('  row:', JSON.stringify(row));
  assert.ok(row.files.includes('site/index.html'), 'the trigger did not send index.html');
  const files = page.locator(`#updates > li[data-id="${row.id}"] .files`);
  assert.match(await files.textContent(), /\+\d+ more/);
  await files.click();
  const listed = (await files.textContent()).split('\n');
  assert.deepEqual(listed.sort(), [...row.files].sort(), 'a click does not list every file');
  await until('the trigger to put index.html back', async () => (await served(href + 'index.html')).includes(marker));

  step('Restart: the same container starts again and is ready');
  const started = () => execFileSync('docker', ['inspect', '-f', '{{.State.StartedAt}}', container]).toString().trim();
  const startedBefore = started();
  await card.getByRole('button', { name: 'Restart' }).click();
  await page.locator('.toast', { hasText: 'Restarting web' }).waitFor({ timeout: WAIT });
  await until('a new StartedAt', async () => started() !== startedBefore);
  await page.locator('#logs .line', { hasText: 'restarted' }).first().waitFor({ timeout: WAIT });
  await card.locator('.state.ready').waitFor({ timeout: WAIT });
  // A restart maps host port 0 anew: the card's link follows.
  const status = await (await fetch(base + 'api/status')).json();
  const now = status.containers[0].urls[0];
  await until(`the card to link ${now}`, async () =>
    (await card.locator('.links a').first().getAttribute('href')) === now);
  assert.ok((await served(now + 'index.html')).includes(marker), 'the restarted container lost the edit');

  step('httpd.conf: a rebuild, its build lines on the card, its row, the new container linked');
  before = Math.max(0, ...(await rowIds(page)));
  fs.writeFileSync(path.join(site, 'note.dwtxt'), 'dwtxt file\n');
  fs.appendFileSync(path.join(path.dirname(site), 'httpd.conf'), '.dwtxt:text/x-devwatch-browser\n');
  await page.waitForFunction((a) => [...document.querySelectorAll('#updates > li.update.rebuild')]
    .some((l) => Number(l.dataset.id) > a), before, { timeout: WAIT });
  const rebuilt = page.locator('#updates > li.update.rebuild').first();
  assert.equal(await rebuilt.locator('.files').textContent(), 'rebuilt and replaced');
  assert.match(await rebuilt.locator('.stages').textContent(), /build and replace \d/);
  const built = await page.evaluate(() => window.__busy);
  assert.ok(built.some((t) => /^build: Step \d\/\d/.test(t)), `no build line on the card: ${JSON.stringify(built.slice(-5))}`);
  await until('the rebuilt container to be linked and serve the new type', async () => {
    const link = await card.locator('.links a').first().getAttribute('href');
    const r = await fetch(link + 'note.dwtxt');
    return (r.headers.get('content-type') || '').startsWith('text/x-devwatch-browser');
  });
  await page.waitForFunction(() => !document.querySelector('.card .busy'), null, { timeout: WAIT });
}, recordBusy);
console.log('dashboard: every check passed');
