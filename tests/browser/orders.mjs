// Browser half of test_orders.py: logs in, finds the order started by a
// scan on the orders list, follows its link, asks the Python half (one line
// on stdout, "RUN") to run the simulator and watches the order page's good
// count rise; then asks it to stop ("STOP") and waits (one line on stdin,
// "settled GOOD SCRAP": the simulator's counts, equal to the API's) before
// checking the order page and the orders list show exactly those numbers,
// downloading the orders list's CSV and the order's runs CSV through their
// links and checking them against the JSON API, checking that print hides
// the navigation, and saving docs/img/order.png.  Exits non-zero on any
// failure.
//
// Environment: LB_URL, LB_USER, LB_PASSWORD, LB_ORDER (number), LB_ORDER_ID,
// LB_SHOTS, LB_PROFILE, LB_DOWNLOADS (a folder for the CSV files).
import path from 'node:path';
import readline from 'node:readline';
import { env, say, launch, run, logIn, shownInPrint, saveCsv, apiOf } from './common.mjs';

const url = env('LB_URL');
const number = env('LB_ORDER');
const orderId = Number(env('LB_ORDER_ID'));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

// A number as the pages write it (thin spaces between thousands).
const num = (s) => Number(String(s).replace(/[^\d-]/g, ''));

// Clicks the page's "Download CSV" link and returns the parsed file.
async function downloadCsv(page, name) {
  const link = page.locator('a[download]', { hasText: 'Download CSV' });
  if (await link.count() !== 1) throw new Error(`${page.url()}: ${await link.count()} CSV links`);
  const { dl, text, rows } = await saveCsv(page, name);
  say(`downloaded ${dl.suggestedFilename()} (${text.length} bytes) from ${dl.url()}`);
  return rows;
}

const browser = await launch({ width: 1280, height: 800 }, { acceptDownloads: true });
const api = apiOf(browser, url);

// The order's row on the orders list: its status and good / quantity.
async function listRow(page) {
  await page.goto(url + '/orders', { waitUntil: 'domcontentloaded' });
  const row = page.locator('tr', { has: page.locator(`a[href="/orders/${number}"]`) });
  if (await row.count() !== 1) throw new Error(`order ${number} is not on the orders list`);
  const cells = (await row.locator('td').allInnerTexts()).map((t) => t.trim());
  const cell = cells.find((t) => /^[\d\s\u202f\u2009\u00a0]+\/[\d\s\u202f\u2009\u00a0]+$/.test(t));
  if (!cell) throw new Error(`no good / quantity cell in ${JSON.stringify(cells)}`);
  const [good, qty] = cell.split('/').map(num);
  return { cells, good, qty };
}

async function orderGood(page) {
  await page.goto(`${url}/orders/${encodeURIComponent(number)}`, { waitUntil: 'domcontentloaded' });
  return num(await page.locator('#good').getAttribute('data-good'));
}

await run(browser, async (page) => {
  await logIn(page, url);

  // The scanned order is on the list, running, nothing made yet.
  let row = await listRow(page);
  if (!row.cells.some((t) => /\brunning\b/.test(t))) {
    throw new Error(`order row: ${JSON.stringify(row.cells)}`);
  }
  if (row.good !== 0 || row.qty !== 400) throw new Error(`order row: ${JSON.stringify(row)}`);
  await Promise.all([page.waitForURL(`${url}/orders/${number}`),
                     page.click(`a[href="/orders/${number}"]`)]);
  if (!(await page.locator('h1, h2').allInnerTexts()).some((t) => t.includes(`Order ${number}`))) {
    throw new Error(`no "Order ${number}" heading`);
  }

  // Production: the order page's good count rises, reload after reload.
  say('RUN');
  let answer = await lines.next();
  if (answer.done || answer.value.trim() !== 'running') throw new Error(`got ${answer.value}`);
  const seen = [];
  const t0 = Date.now();
  while (Date.now() - t0 < 30000) {
    const g = await orderGood(page);
    if (seen.length && g < seen[seen.length - 1]) throw new Error(`good went down: ${seen} ${g}`);
    if (!seen.length || g !== seen[seen.length - 1]) seen.push(g);
    if (seen.filter((v) => v > 0).length >= 4) break;
    await page.waitForTimeout(600);
  }
  if (seen.filter((v) => v > 0).length < 4) throw new Error(`good did not rise: ${seen}`);
  say(`order page good rose: ${seen.join(' -> ')}`);
  // A little more for the picture.
  for (let i = 0; i < 20 && (await orderGood(page)) < 60; i++) await page.waitForTimeout(500);
  row = await listRow(page);
  if (!(row.good >= seen[seen.length - 1])) {
    throw new Error(`list good ${row.good} behind the page's`);
  }
  say(`orders list good ${row.good} / ${row.qty}`);

  say('STOP');
  answer = await lines.next();
  const m = !answer.done && /^settled (\d+) (\d+)$/.exec(answer.value.trim());
  if (!m) throw new Error(`got ${answer.value}`);
  const good = Number(m[1]), scrap = Number(m[2]);

  // The final numbers: the simulator's, the API's and the pages' agree.
  const prog = await api(`/api/v1/orders/${orderId}/progress`);
  if (prog.good !== good || prog.scrap !== scrap) {
    throw new Error(`API progress ${prog.good}/${prog.scrap}, simulator ${good}/${scrap}`);
  }
  const pageGood = await orderGood(page);
  const kpiText = await page.locator('table.kpi').first().innerText();
  if (pageGood !== good) throw new Error(`order page good ${pageGood}, simulator ${good}`);
  const kpiCells = kpiText.split('\n').pop().split('\t').map((t) => t.trim());
  if (num(kpiCells[1]) !== good || num(kpiCells[2]) !== scrap ||
      num(kpiCells[3]) !== 400 - good) {
    throw new Error(`order page numbers ${JSON.stringify(kpiCells)}, ` +
                    `want good ${good} scrap ${scrap}`);
  }
  const runsCsv = await downloadCsv(page, 'order-runs.csv');
  const runGood = runsCsv.reduce((s, r) => s + Number(r.good), 0);
  const runScrap = runsCsv.reduce((s, r) => s + Number(r.scrap), 0);
  if (runsCsv.length !== prog.runs.length || runGood !== good || runScrap !== scrap ||
      runsCsv[0].machine !== 'press-1') {
    throw new Error(`runs CSV ${JSON.stringify(runsCsv)}, API ${JSON.stringify(prog.runs)}`);
  }
  say(`order page and its runs CSV: good ${good}, scrap ${scrap}`);
  await page.screenshot({ path: path.join(env('LB_SHOTS'), 'order.png'), fullPage: true });

  const [navShown, csvShown] = await shownInPrint(page, 'header.top nav', 'a[download]');
  if (navShown || csvShown) throw new Error(`in print: nav ${navShown}, CSV link ${csvShown}`);

  row = await listRow(page);
  if (row.good !== good) throw new Error(`orders list good ${row.good}, simulator ${good}`);
  const listCsv = await downloadCsv(page, 'orders.csv');
  const orders = await api('/api/v1/orders');
  if (listCsv.length !== orders.length) {
    throw new Error(`orders CSV has ${listCsv.length} rows, the API ${orders.length} orders`);
  }
  for (const o of orders) {
    const r = listCsv.find((x) => x.number === o.number);
    const p = await api(`/api/v1/orders/${o.id}/progress`);
    if (!r || Number(r.good) !== p.good || Number(r.scrap) !== p.scrap ||
        Number(r.quantity) !== o.quantity || r.status !== o.status) {
      throw new Error(`orders CSV row ${JSON.stringify(r)}, ` +
                      `API ${JSON.stringify(o)} ${p.good}/${p.scrap}`);
    }
  }
  const mine = listCsv.find((x) => x.number === number);
  say(`orders CSV agrees with the API: ${JSON.stringify(mine)}`);
});
