// Browser half of test_machine.py: logs in, follows the board tile's link
// to the machine page, checks its SVG charts, legend words and KPIs render
// without console errors (CSP), that the print style hides the navigation,
// and saves docs/img/machine.png.  Exits non-zero on any failure.
//
// Environment: LB_URL, LB_USER, LB_PASSWORD, LB_DEV, LB_SHOTS, LB_PROFILE.
import path from 'node:path';
import { env, launch, run, logIn, shownInPrint } from './common.mjs';

const url = env('LB_URL');
const dev = env('LB_DEV');
const browser = await launch({ width: 1280, height: 900 });

await run(browser, async (page) => {
  await logIn(page, url);

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

  const [navShown] = await shownInPrint(page, 'header.top nav');
  if (navShown) throw new Error('navigation visible in print');
});
