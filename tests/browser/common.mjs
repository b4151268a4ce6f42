// What the browser halves of test_*.py share: the environment, Debian's
// headless Chromium through playwright-core, the login form, print media,
// CSV downloads and the run that turns any failure into a non-zero exit.
//
// Environment: LB_PROFILE (a fresh profile folder), LB_CHROMIUM (default
// /usr/bin/chromium), TZ, LB_USER and LB_PASSWORD (for logIn),
// LB_DOWNLOADS (for saveCsv).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import path from 'node:path';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
export const say = (msg) => console.log(msg);

// Flags for a quiet, reproducible headless run in a sandbox-less container:
// no GPU, no QUIC, no first-run dialogs, no background traffic.
export function launch(viewport, options = {}) {
  return chromium.launchPersistentContext(env('LB_PROFILE'), {
    executablePath: process.env.LB_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport,
    timezoneId: process.env.TZ || 'UTC',
    ...options,
  });
}

// Runs body on the browser's page, then exits: non-zero with the stack on
// any failure.  Console errors such as CSP violations fail the test too,
// unless ignore(text) says the test expects them.
export async function run(browser, body, ignore = () => false) {
  try {
    const page = browser.pages()[0] || await browser.newPage();
    const problems = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && !ignore(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await body(page);
    if (problems.length) throw new Error(problems.join('\n'));
    say('OK');
  } catch (e) {
    console.error(`${path.basename(process.argv[1])}: ${e.stack || e}`);
    process.exitCode = 1;
  } finally {
    await browser.close();
  }
  process.exit(process.exitCode || 0);
}

export async function logIn(page, url) {
  await page.goto(url + '/login', { waitUntil: 'domcontentloaded' });
  await page.fill('#user', env('LB_USER'));
  await page.fill('#password', env('LB_PASSWORD'));
  await Promise.all([page.waitForURL(url + '/'), page.click('button[type=submit]')]);
}

// fn's result, with the page in print media while fn runs.
export async function inPrint(page, fn) {
  await page.emulateMedia({ media: 'print' });
  const result = await fn();
  await page.emulateMedia({ media: 'screen' });
  return result;
}

// Whether each selector's element is visible in print.
export const shownInPrint = (page, ...selectors) => inPrint(page, async () => {
  const shown = [];
  for (const sel of selectors) shown.push(await page.locator(sel).isVisible());
  return shown;
});

// RFC 4180: quoted fields, doubled quotes, CRLF rows.  Returns objects
// keyed by the header row.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') { row.push(field); field = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { /* the \n ends the row */ }
    else if (ch === '\n') { row.push(field); rows.push(row); row = []; field = ''; }
    else field += ch;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const head = rows.shift() || [];
  return rows.map((r) => Object.fromEntries(head.map((h, k) => [h, r[k]])));
}

// Clicks the page's "Download CSV" link and keeps the file as name in
// LB_DOWNLOADS: the download, its text and its rows.
export async function saveCsv(page, name) {
  const link = page.locator('a[download]', { hasText: 'Download CSV' });
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 15000 }),
                                  link.click()]);
  const file = path.join(env('LB_DOWNLOADS'), name);
  await dl.saveAs(file);
  const text = fs.readFileSync(file, 'utf8');
  return { dl, text, rows: parseCsv(text) };
}

// The API's answer as JSON, with the browser's session cookie.
export function apiOf(browser, url) {
  return async (p) => {
    const r = await browser.request.get(url + p);
    if (!r.ok()) throw new Error(`${p}: ${r.status()} ${await r.text()}`);
    return r.json();
  };
}
