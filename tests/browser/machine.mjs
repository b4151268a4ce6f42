// Browser half of test_machine.py: logs in, follows the board tile's link
// to the machine page, checks its SVG charts, legend words and KPIs render
// without console errors (CSP), that the print style hides the navigation,
// and saves docs/img/machine.png.  Exits non-zero on any failure.
//
// Environment: LB_URL, LB_USER, LB_PASSWORD, LB_DEV, LB_SHOTS, LB_PROFILE.
import { chromium } from 'playwright-core';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('LB_URL');
const dev = env('LB_DEV');
const problems = [];

const browser = await chromium.launchPersistentContext(env('LB_PROFILE'), {
  executablePath: process.env.LB_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
  timezoneId: process.env.TZ || 'UTC',
});

try {
  const page = browser.pages()[0] || await browser.newPage();
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  await page.goto(url + '/login', { waitUntil: 'domcontentloaded' });
  await page.fill('#user', env('LB_USER'));
  await page.fill('#password', env('LB_PASSWORD'));
  await Promise.all([page.waitForURL(url + '/'), page.click('button[type=submit]')]);

  // The tile links to the machine page.
  await Promise.all([page.waitForURL(`${url}/machines/${dev}`),
                     page.click(`section.tile[data-dev="${dev}"] .dev a`)]);
  const charts = await page.locator('svg.chart').count();
  if (charts < 3) throw new Error(`expected at least 3 charts, got ${charts}`);
  const text = await page.locator('main').innerText();
  for (const word of ['running', 'down, no reason', 'Availability', 'OEE',
                      'Output per hour against target', 'Downtime by reason']) {
    if (!text.includes(word)) throw new Error(`"${word}" not on the machine page`);
  }
  const good = await page.locator('#good').getAttribute('data-good');
  if (!(Number(good) > 0)) throw new Error(`good: ${good}`);
  console.log(`machine page of ${dev}: ${charts} charts, good ${good}`);
  await page.screenshot({ path: path.join(env('LB_SHOTS'), 'machine.png'), fullPage: true });

  await page.emulateMedia({ media: 'print' });
  const navShown = await page.locator('header.top nav').isVisible();
  await page.emulateMedia({ media: 'screen' });
  if (navShown) throw new Error('navigation visible in print');

  if (problems.length) throw new Error(problems.join('\n'));
  console.log('OK');
} catch (e) {
  console.error(`machine.mjs: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
process.exit(process.exitCode || 0);
