// Browser half of test_reports.py: logs in; on "Downtime to be explained"
// picks a reason for one stop in its row's form and saves it, then checks
// the page no longer lists the stop and the API gives it the reason; on the
// shift report downloads the CSV through its link and checks each row
// against the JSON API; prints the shift report to an A4 PDF and checks it
// has one page per line and that print hides the navigation.  Exits
// non-zero on any failure.
//
// Environment: LB_URL, LB_USER, LB_PASSWORD, LB_DEV and LB_STOP_AT (the
// machine and start in ms of the stop to explain), LB_REASON (a reason
// code), LB_PROFILE, LB_DOWNLOADS (a folder for the CSV), LB_PDF (where to
// write the PDF), LB_LINES (how many lines the plant has), LB_MADE (JSON:
// each machine's good and scrap made by its simulator between LB_T0 and
// LB_T1, in ms).
import fs from 'node:fs';
import { env, say, launch, run, logIn, inPrint, saveCsv, apiOf } from './common.mjs';

const url = env('LB_URL');
const dev = env('LB_DEV');
const at = env('LB_STOP_AT');
const reason = env('LB_REASON');
const nLines = Number(env('LB_LINES'));
const made = JSON.parse(env('LB_MADE'));  // machine -> {good, scrap} made by the simulators
const t0 = Number(env('LB_T0')), t1 = Number(env('LB_T1'));  // when, in ms

const browser = await launch({ width: 1280, height: 800 }, { acceptDownloads: true });
const api = apiOf(browser, url);

const stopInputs = (page) =>
  page.locator(`form:has(input[name=machine][value="${dev}"]) input[name=at][value="${at}"]`);

async function explainStop(page) {
  // Not /downtime itself, so that the answer's redirect to /downtime is seen.
  await page.goto(url + '/downtime?days=2', { waitUntil: 'domcontentloaded' });
  const listed = await page.locator('form input[name=at]').count();
  if (await stopInputs(page).count() !== 1) {
    throw new Error(`stop ${dev}@${at} is not listed once on the downtime page`);
  }
  const row = page.locator('tr', { has: stopInputs(page) });
  await row.locator('select[name=reason]').selectOption(reason);
  await Promise.all([page.waitForURL(url + '/downtime'),
                     row.getByRole('button', { name: 'Save' }).click()]);
  if (await stopInputs(page).count() !== 0) throw new Error('the stop is still listed');
  const left = await page.locator('form input[name=at]').count();
  if (left !== listed - 1) throw new Error(`${listed} stops listed before, ${left} after`);
  const now = Date.now();
  const iso = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
  const stops = await api(`/api/v1/machines/${dev}/stops?from=${iso(now - 86400000)}` +
                          `&to=${iso(now + 60000)}`);
  const s = stops.find((x) => String(x.start_ms) === at);
  if (!s || s.reason !== reason || s.set_reason !== reason || s.unexplained !== false) {
    throw new Error(`the stop in the API: ${JSON.stringify(s)}`);
  }
  say(`stop ${dev}@${at} explained as ${reason}: ${left} stops left on the page`);
}

async function shiftCsv(page) {
  await page.goto(url + '/reports/shift', { waitUntil: 'domcontentloaded' });
  const { dl, rows } = await saveCsv(page, 'shift-report.csv');
  say(`downloaded ${dl.suggestedFilename()} from ${dl.url()}: ${rows.length} rows`);
  const lines = await api('/api/v1/lines');
  if (lines.length !== nLines) throw new Error(`${lines.length} lines in the API`);
  const machineRows = rows.filter((r) => r.machine !== '');
  if (rows.length - machineRows.length !== nLines) {
    throw new Error(`CSV rows: ${JSON.stringify(rows)}`);
  }
  let whole = 0;
  for (const r of rows) {
    const line = lines.find((x) => x.name === r.line);
    if (!line) throw new Error(`CSV line ${r.line} is not in the API`);
    const q = `scope=line&id=${line.id}&by=machine&from=${encodeURIComponent(r.from)}` +
              `&to=${encodeURIComponent(r.to)}`;
    const k = await api(`/api/v1/reports/oee?${q}`);
    const m = r.machine === '' ? k : (k.machines || []).find((x) => x.id === r.machine);
    if (!m) throw new Error(`machine ${r.machine} not in the API's ${q}`);
    const c = m.total.counts;
    const good = c.good + c.outside_good, scrap = c.scrap + c.outside_scrap;
    if (Number(r.good) !== good || Number(r.scrap) !== scrap) {
      throw new Error(`CSV ${JSON.stringify(r)}: API good ${good}, scrap ${scrap}`);
    }
    // Quality and performance do not move while the machines stand; the
    // availability does (the open stop grows), so only roughly.
    for (const [key, tol] of [['quality', 1e-4], ['performance', 1e-4],
                              ['availability', 0.2]]) {
      const v = m.total[key];
      const ok = v === null || v === undefined ? r[key] === ''
                                               : Math.abs(Number(r[key]) - v) <= tol;
      if (!ok) throw new Error(`CSV ${r.line}/${r.machine} ${key} ${r[key]}, API ${v}`);
    }
    // A period holding all the production (it does unless the test ran
    // over midnight) has exactly what the simulators made.
    if (Date.parse(r.from) <= t0 && Date.parse(r.to) >= t1) {
      const want = r.machine === '' ? (k.machines || []).map((x) => made[x.id]).reduce(
        (s, x) => ({ good: s.good + x.good, scrap: s.scrap + x.scrap }), { good: 0, scrap: 0 })
        : made[r.machine];
      if (!want || want.good !== good || want.scrap !== scrap) {
        throw new Error(`CSV ${JSON.stringify(r)}: the simulators made ${JSON.stringify(want)}`);
      }
      if (r.machine === '') whole++;
    }
  }
  if (whole !== nLines) say(`(only ${whole} of ${nLines} lines' periods hold all production)`);
  say(`shift report CSV agrees with the API and the simulators: ${machineRows.map((r) =>
    `${r.machine} ${r.good}/${r.scrap}`).join(', ')}`);
}

// Prints the shift report of query to an A4 PDF (print media, as a
// browser's "Save as PDF" does) and returns its number of pages (page
// objects, not the /Pages tree).
async function shiftPdf(page, query, file, want) {
  await page.goto(url + '/reports/shift' + query, { waitUntil: 'load' });
  const sheets = await page.locator('section.sheet').count();
  if (sheets !== want) throw new Error(`${query}: ${sheets} sheets, want ${want}`);
  await inPrint(page, async () => {
    for (const sel of ['header.top nav', '.who', 'form.noprint', 'a[download]']) {
      if (await page.locator(sel).first().isVisible()) throw new Error(`${sel} visible in print`);
    }
    if (!(await page.locator('section.sheet').first().isVisible())) {
      throw new Error('no sheet in print');
    }
    await page.pdf({ path: file, format: 'A4', printBackground: true });
  });
  const pdf = fs.readFileSync(file).toString('latin1');
  if (!pdf.startsWith('%PDF-')) throw new Error('not a PDF');
  const pages = (pdf.match(/\/Type\s*\/Page(?![A-Za-z])/g) || []).length;
  // A4 is 595 x 842 points.
  const boxes = [...pdf.matchAll(/\/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]/g)];
  const a4 = (b) => Math.abs(b[1] - 595.3) <= 1 && Math.abs(b[2] - 841.9) <= 1;
  if (!boxes.length || !boxes.every(a4)) {
    throw new Error(`not A4: ${boxes.map((b) => b[0]).join(' ')}`);
  }
  say(`shift report${query} PDF: ${pdf.length} bytes, ${pages} A4 pages for ${want} lines`);
  if (pages !== want) throw new Error(`the PDF has ${pages} pages, want one per line (${want})`);
}

await run(browser, async (page) => {
  await logIn(page, url);

  await explainStop(page);
  await shiftCsv(page);
  await shiftPdf(page, '', env('LB_PDF'), nLines);
  const one = (await api('/api/v1/lines'))[0];
  await shiftPdf(page, `?line=${one.id}`, env('LB_PDF').replace(/\.pdf$/, '-line.pdf'), 1);
});
