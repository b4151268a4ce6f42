// Browser half of test_board.py: drives Debian's Chromium through
// playwright-core.  It logs in, waits for a machine's tile to say
// "running", saves screenshots, then asks the Python half (one line on
// stdout) to pause the simulator and waits (one line on stdin) before
// watching the tile change to "idle".  Exits non-zero on any failure.
//
// Before the screenshots it waits until the tiles show what a factory
// sees: each running order's progress ("24 / 80 good, 30 %", LB_DEV's at
// least 30 % done), the OEE of the line's shift as a percentage, the
// shift's name, and "no order" where none runs.
//
// Environment: LB_URL (http://127.0.0.1:PORT), LB_USER, LB_PASSWORD,
// LB_DEV (the machine to watch), LB_TV (path of a board link),
// LB_SHOTS (folder for screenshots), LB_PROFILE (a fresh profile folder),
// LB_ORDERS (machine:quantity,... of the running orders; LB_DEV's first),
// LB_NO_ORDER (machine,... without an order).
import readline from 'node:readline';
import path from 'node:path';
import { env, say, launch, run, shownInPrint } from './common.mjs';

const url = env('LB_URL');
const dev = env('LB_DEV');
const shots = env('LB_SHOTS');
const orders = env('LB_ORDERS').split(',').map((x) => {
  const [dev, qty] = x.split(':');
  return { dev, qty: Number(qty) };
});
const noOrder = (process.env.LB_NO_ORDER || '').split(',').filter(Boolean);
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const browser = await launch({ width: 1280, height: 720 });

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

// What a tile says of its order and shift, words and data attributes.
async function tileFigures(page, d) {
  const t = page.locator(`section.tile[data-dev="${d}"]`);
  if (await t.count() === 0) return null;
  return t.evaluate((el) => {
    const text = (sel) => {
      const e = el.querySelector(sel);
      return e ? e.textContent.replace(/\s+/g, ' ').trim() : null;
    };
    const pr = el.querySelector('.progress');
    const oee = el.querySelector('td.oee');
    return {
      order: text('.order'),
      progress: text('.progress'),
      good: pr && pr.dataset.good !== undefined ? Number(pr.dataset.good) : null,
      quantity: pr && pr.dataset.quantity !== undefined ? Number(pr.dataset.quantity) : null,
      bar: !!(pr && pr.querySelector('.bar span')),
      oee: text('td.oee'),
      oeeValue: oee && oee.dataset.oee !== undefined ? Number(oee.dataset.oee) : null,
      shift: text('.shift'),
    };
  });
}

// Why the tiles do not show yet what the screenshots need, or null.
async function notReady(page) {
  await page.reload({ waitUntil: 'domcontentloaded' });
  for (const [i, o] of orders.entries()) {
    const f = await tileFigures(page, o.dev);
    if (!f) return `${o.dev}: no tile`;
    const m = /^([\d ]+) \/ ([\d ]+) good, (\d+) %/.exec(f.progress || '');
    if (!m || f.quantity !== o.qty || Number(m[2].replace(/ /g, '')) !== o.qty ||
        Number(m[1].replace(/ /g, '')) !== f.good || !f.bar) {
      return `${o.dev}: progress ${JSON.stringify(f.progress)} (order ${f.order})`;
    }
    // LB_DEV is the fast one: let its bar grow to a third for the picture.
    if (f.good < (i === 0 ? 0.3 * o.qty : 1)) return `${o.dev}: only ${f.progress}`;
    if (!/^\d+ %$/.test(f.oee || '') || !(f.oeeValue > 0 && f.oeeValue <= 1) ||
        Math.abs(f.oeeValue * 100 - Number(f.oee.split(' ')[0])) > 0.5000001) {
      return `${o.dev}: shift OEE ${JSON.stringify(f.oee)} (${f.oeeValue})`;
    }
    if (!/^shift \S.* since \d\d:\d\d$/.test(f.shift || '') || /no shifts/.test(f.shift)) {
      return `${o.dev}: shift ${JSON.stringify(f.shift)}`;
    }
  }
  for (const d of noOrder) {
    const f = await tileFigures(page, d);
    if (!f || f.order !== 'no order' || f.progress !== null) {
      return `${d}: order ${JSON.stringify(f && f.order)}, progress ${f && f.progress}`;
    }
  }
  return null;
}

// The 401 of the deliberately wrong password shows on the console too and
// is checked on its own.
const expected = (text) => text.startsWith('Failed to load resource');

await run(browser, async (page) => {
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
  let why = null;
  for (let i = 0; i < 120; i++) {
    if ((why = await notReady(page)) === null) break;
    await page.waitForTimeout(500);
  }
  if (why !== null) throw new Error(`the board does not show orders and shift OEE: ${why}`);
  for (const o of orders) {
    const f = await tileFigures(page, o.dev);
    say(`${o.dev}: ${f.order}, ${f.progress}; shift OEE ${f.oee}, ${f.shift}`);
  }
  await page.reload({ waitUntil: 'load' });
  await page.screenshot({ path: path.join(shots, 'board.png'), fullPage: true });
  await page.setViewportSize({ width: 390, height: 844 });
  await page.screenshot({ path: path.join(shots, 'board-phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1280, height: 720 });

  // Print stylesheet: the board prints without navigation.
  const [navShown] = await shownInPrint(page, 'header.top nav');
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
  if (!(await tv.locator('.progress[data-quantity] .bar').count())) throw new Error('TV page shows no order progress');
  if (!(await tv.locator('td.oee[data-oee]').count())) throw new Error('TV page shows no shift OEE');
  await tv.setViewportSize({ width: 1920, height: 1080 });
  await tv.screenshot({ path: path.join(shots, 'board-tv.png') });
  say('TV board shown without login');
}, expected);
