// Browser half of test_board.py: drives Debian's Chromium through
// playwright-core.  It logs in, waits for a machine's tile to say
// "running", saves screenshots, then asks the Python half (one line on
// stdout) to pause the simulator and waits (one line on stdin) before
// watching the tile change to "idle".  Exits non-zero on any failure.
//
// Environment: LB_URL (http://127.0.0.1:PORT), LB_USER, LB_PASSWORD,
// LB_DEV (the machine to watch), LB_TV (path of a board link),
// LB_SHOTS (folder for screenshots), LB_PROFILE (a fresh profile folder).
import { chromium } from 'playwright-core';
import readline from 'node:readline';
import path from 'node:path';

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const url = env('LB_URL');
const dev = env('LB_DEV');
const shots = env('LB_SHOTS');
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (msg) => console.log(msg);
const problems = [];

// Flags for a quiet, reproducible headless run in a sandbox-less container:
// no GPU, no QUIC, no first-run dialogs, no background traffic.
const browser = await chromium.launchPersistentContext(env('LB_PROFILE'), {
  executablePath: process.env.LB_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 720 },
  timezoneId: process.env.TZ || 'UTC',
});

// The state word of dev's tile on a fresh load of the page.
async function tileState(page) {
  await page.reload({ waitUntil: 'domcontentloaded' });
  const badge = page.locator(`section.tile[data-dev="${dev}"] .badge`);
  if (await badge.count() === 0) return null;
  return (await badge.innerText()).trim().toLowerCase();
}

async function waitState(page, want, seconds) {
  let last = null;
  for (let i = 0; i < seconds * 2; i++) {
    last = await tileState(page);
    if (last === want) return;
    await page.waitForTimeout(500);
  }
  throw new Error(`tile ${dev} did not show "${want}" within ${seconds} s (last: ${last})`);
}

try {
  const page = browser.pages()[0] || await browser.newPage();
  // Console errors such as CSP violations fail the test; the 401 of the
  // deliberately wrong password shows there too and is checked on its own.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  // Not logged in: the board sends us to the login form.
  await page.goto(url + '/', { waitUntil: 'domcontentloaded' });
  if (!page.url().includes('/login')) throw new Error(`expected the login page, got ${page.url()}`);
  await page.fill('#user', env('LB_USER'));
  await page.fill('#password', 'not-the-password');
  await page.click('button[type=submit]');
  const alert = await page.locator('[role=alert]').innerText();
  if (!/wrong user name or password/.test(alert)) throw new Error(`login error shown: ${alert}`);
  await page.fill('#password', env('LB_PASSWORD'));
  await Promise.all([page.waitForURL(url + '/'), page.click('button[type=submit]')]);
  say(`logged in, at ${page.url()}`);

  // The session cookie is out of JavaScript's reach.
  const cookies = await browser.cookies(url);
  const sess = cookies.find((c) => c.name === 'lb_session');
  if (!sess || !sess.httpOnly || sess.sameSite !== 'Lax') {
    throw new Error(`session cookie: ${JSON.stringify(sess)}`);
  }
  if ((await page.evaluate(() => document.cookie)).includes('lb_session')) {
    throw new Error('document.cookie shows the session');
  }

  await waitState(page, 'running', 60);
  say(`${dev} is running on the board`);
  // Let the counters grow a little for the picture.
  await page.waitForTimeout(1500);
  await page.reload({ waitUntil: 'load' });
  await page.screenshot({ path: path.join(shots, 'board.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, 'board-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });

  // Print stylesheet: the board prints without navigation.
  await page.emulateMedia({ media: 'print' });
  const navShown = await page.locator('header.top nav').isVisible();
  await page.emulateMedia({ media: 'screen' });
  if (navShown) throw new Error('navigation visible in print');

  say('PAUSE');
  const answer = await lines.next();
  if (answer.done || answer.value.trim() !== 'paused') throw new Error(`got ${answer.value}`);
  await waitState(page, 'idle', 60);
  say(`${dev} changed to idle on the board`);

  // The TV link: no login, large type, refreshes by itself.
  const tv = await browser.newPage();
  await browser.clearCookies();
  await tv.goto(url + env('LB_TV'), { waitUntil: 'load' });
  if (!(await tv.locator('body.tv').count())) throw new Error('TV page is not in TV mode');
  if (!(await tv.locator('meta[http-equiv=refresh]').count())) throw new Error('TV page does not refresh');
  if (await tv.locator('form, nav').count()) throw new Error('TV page has forms or navigation');
  await tv.setViewportSize({ width: 1920, height: 1080 });
  await tv.screenshot({ path: path.join(shots, 'board-tv.png') });
  say('TV board shown without login');

  if (problems.length) throw new Error(problems.join('\n'));
  say('OK');
} catch (e) {
  console.error(`board.mjs: ${e.stack || e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}
process.exit(process.exitCode || 0);
