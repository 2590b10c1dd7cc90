// Headquarters' dashboard at the size of a real company, in a real browser: Debian's headless
// Chromium driven by playwright-core against a kam-server started with `--demo --scale 10`.
// Run by tests/tests/dashboard_scale.rs, which checks on the server what this script reports.
//
// Environment:
//   KAM_URL           the server
//   KAM_CUSTOMERS     customers the server holds; KAM_TICKETS: tickets (open and closed)
//   KAM_WORK          a directory the Rust side writes `stream-open` into once the enrolled
//                     device's push stream is open
//   KAM_SCREENSHOTS   directory for the full-page screenshots (NN-step.png, failure.png)
//   KAM_CHROMIUM      the browser (default /usr/bin/chromium)
//   KAM_PLAYWRIGHT    the playwright-core package directory
//
// Steps: headquarters searches the customers, sorts them by a column both ways, pages through
// the tickets (next five times, then back one), opens the rows behind a chart's bar, and
// meets a localized not-found page; the administrator enrols a tablet from the devices page
// (printing `ENROLLED <device> <token>`, then waiting for the Rust side's `stream-open`),
// revokes it (printing `REVOKED`). A final `RESULT key=value ...` line; every wait is bounded;
// any failure prints where it happened, saves failure.png and exits with status 1.

import { createRequire } from 'node:module';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

function env(name, fallback) {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`browser: environment variable ${name} is not set`);
    process.exit(2);
  }
  return value;
}

const base = env('KAM_URL').replace(/\/$/, '');
const shots = env('KAM_SCREENSHOTS');
const executablePath = env('KAM_CHROMIUM', '/usr/bin/chromium');
const playwrightDir = env('KAM_PLAYWRIGHT');
const work = env('KAM_WORK');
const customersTotal = Number(env('KAM_CUSTOMERS'));
const ticketsTotal = Number(env('KAM_TICKETS'));

/** How long one wait for an element, a navigation or a download may take. */
const WAIT_MS = 20_000;

mkdirSync(shots, { recursive: true });

const { chromium } = require(playwrightDir);

let page = null;
let step = 'launch';
let shotNo = 0;
const pageErrors = [];
/** Content-Security-Policy violations the browser reported, on any page. */
const cspViolations = [];
const result = {};

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** A CSS attribute selector value, quoted. */
function q(value) {
  return JSON.stringify(String(value));
}

function exactText(value) {
  return new RegExp(`^\\s*${String(value).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}

async function shot(name) {
  shotNo += 1;
  const file = join(shots, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true, timeout: WAIT_MS });
  console.log(`browser: ${name} — ${page.url()} (${file})`);
}

/** Opens `path` and checks the response's status. */
async function open(path, status = 200) {
  step = `open ${path}`;
  const response = await page.goto(base + path, { waitUntil: 'load', timeout: WAIT_MS });
  check(response !== null, `no response for ${path}`);
  check(response.status() === status, `${path} answered ${response.status()}, expected ${status}`);
  return response;
}

async function htmlLang() {
  return page.evaluate(() => document.documentElement.lang);
}

async function signIn(user, password) {
  await open('/login');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
}

async function run() {
  step = 'launch chromium';
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  result.chromium = browser.version();
  console.log(`browser: Chromium ${browser.version()} at ${executablePath}`);
  try {
    const context = await browser.newContext({
      acceptDownloads: true,
      locale: 'zh-CN',
      viewport: { width: 1280, height: 900 },
    });
    page = await context.newPage();
    page.setDefaultTimeout(WAIT_MS);
    page.setDefaultNavigationTimeout(WAIT_MS);
    page.on('pageerror', (error) => {
      pageErrors.push(String(error));
      console.log(`browser: script error on ${page.url()}: ${error}`);
    });
    // Chromium logs what the Content-Security-Policy refused ("Refused to execute inline
    // script because it violates ... Content Security Policy ..."); the page's own
    // securitypolicyviolation events are logged too, so no refusal goes unseen.
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
      });
    });
    page.on('console', (message) => {
      const text = message.text();
      if (/Content Security Policy|CSP violation/i.test(text)) {
        cspViolations.push(`${page.url()}: ${text}`);
        console.log(`browser: CSP violation on ${page.url()}: ${text}`);
      }
    });
    await scenario();
    check(pageErrors.length === 0, `the pages raised script errors: ${pageErrors.join('; ')}`);
    result.csp_violations = cspViolations.length;
    check(cspViolations.length === 0, `the pages broke the CSP: ${cspViolations.join('; ')}`);
  } catch (error) {
    if (page !== null) {
      console.log(`browser: page URL at the failure: ${page.url()}`);
      const file = join(shots, 'failure.png');
      await page
        .screenshot({ path: file, fullPage: true, timeout: 10_000 })
        .then(() => console.log(`browser: screenshot ${file}`))
        .catch((shotError) => console.log(`browser: no failure screenshot: ${shotError}`));
    }
    throw error;
  } finally {
    await browser.close();
  }
}

/** The ids of the rows of the list on the page. */
async function rowIds(attribute) {
  return page.locator(`tr[${attribute}]`).evaluateAll(
    (rows, name) => rows.map((row) => row.getAttribute(name)),
    attribute,
  );
}

async function listTotal() {
  return Number(await page.locator('#list-count').getAttribute('data-total'));
}

/** The numbers of column `n` (1-based) of the customer table, blanks left out. */
async function columnNumbers(n) {
  const cells = await page.locator(`table#customers tr[data-customer-id] td:nth-child(${n})`).allTextContents();
  return cells.map((c) => c.trim()).filter((c) => c !== '').map(Number);
}

/** Waits at most `ms` for `file` to exist. */
async function waitForFile(file, ms) {
  const deadline = Date.now() + ms;
  while (!existsSync(file)) {
    check(Date.now() < deadline, `${file} did not appear within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function searchAndSortCustomers() {
  await open('/hq/customers');
  step = 'customers at scale';
  const total = await listTotal();
  check(total === customersTotal, `the list counts ${total} customers, the server holds ${customersTotal}`);
  check((await rowIds('data-customer-id')).length === 50, 'the first page holds 50 customers');
  const name = (await page.locator('table#customers tr[data-customer-id] td:first-child a').first().textContent()).trim();
  const term = [...name].slice(2, 4).join('');
  step = `search for ${term}`;
  await page.fill('#search', term);
  await Promise.all([page.waitForURL((url) => url.searchParams.get('q') === term), page.click('#customer-search button[type=submit]')]);
  const found = await listTotal();
  check(found > 0 && found < total, `searching ${term} found ${found} of ${total}`);
  const texts = await page.locator('table#customers tr[data-customer-id]').allTextContents();
  check(texts.every((t) => t.includes(term)), `a row without ${term}`);
  result.search_term = term;
  result.search_found = found;
  await shot('customers-searched');

  step = 'sort by score';
  await open('/hq/customers');
  await Promise.all([page.waitForURL((url) => url.searchParams.get('sort') === 'score'), page.click('a.sort[data-sort=score]')]);
  check(new URL(page.url()).searchParams.get('dir') === 'asc', 'a new sort starts ascending');
  const up = await columnNumbers(4);
  check(up.length > 0 && up.every((v, i) => i === 0 || up[i - 1] <= v), `scores not ascending: ${up}`);
  await Promise.all([page.waitForURL((url) => url.searchParams.get('dir') === 'desc'), page.click('a.sort[data-sort=score]')]);
  const down = await columnNumbers(4);
  check(down.every((v, i) => i === 0 || down[i - 1] >= v), `scores not descending: ${down}`);
  check(down[0] >= up[up.length - 1], 'the highest score leads when sorted down');
  result.score_top = down[0];
  await shot('customers-by-score-desc');
}

async function pageThroughTickets() {
  await open('/hq/tickets?show=all');
  step = 'tickets at scale';
  const total = await listTotal();
  check(total === ticketsTotal, `the list counts ${total} tickets, the server holds ${ticketsTotal}`);
  const pages = [await rowIds('data-ticket-id')];
  for (let n = 2; n <= 6; n += 1) {
    step = `tickets page ${n}`;
    await Promise.all([page.waitForURL((url) => url.searchParams.has('cursor')), page.click('#page-next')]);
    await page.waitForSelector(`#list-count:has-text("第 ${(n - 1) * 50 + 1}–${n * 50} 条")`);
    pages.push(await rowIds('data-ticket-id'));
  }
  const seen = pages.flat();
  check(pages.every((p) => p.length === 50), `a page not of 50: ${pages.map((p) => p.length)}`);
  check(new Set(seen).size === seen.length, 'a ticket shown on two pages');
  await shot('tickets-page-6');
  step = 'tickets, back a page';
  await page.click('#page-prev');
  await page.waitForSelector('#list-count:has-text("第 201–250 条")');
  const back = await rowIds('data-ticket-id');
  check(JSON.stringify(back) === JSON.stringify(pages[4]), 'the page before the sixth is not the fifth');
  result.tickets_seen = seen.length;
  result.tickets_total = total;
  await shot('tickets-page-5-again');
}

async function chartRows() {
  await open('/hq/charts');
  step = 'a chart\'s rows';
  await shot('charts');
  const mark = page.locator('#chart-tier-grade a').first();
  const title = (await mark.locator('title').textContent()).trim();
  const count = Number(title.split(': ').pop());
  check(count > 0, `the first bar counts ${title}`);
  await Promise.all([page.waitForURL((url) => url.pathname === '/hq/customers'), mark.click()]);
  const url = new URL(page.url());
  check(url.searchParams.has('tier') && url.searchParams.has('grade'), `the bar led to ${page.url()}`);
  check((await listTotal()) === count, `the bar said ${count}, the list holds ${await listTotal()}`);
  result.chart_bar = `${url.searchParams.get('tier')}/${url.searchParams.get('grade')}`;
  result.chart_count = count;
  await shot('chart-rows');
}

async function notFound() {
  await open('/hq/no-such-page', 404);
  step = 'a localized 404';
  check((await htmlLang()) === 'zh-CN', 'the 404 page is not Chinese');
  check((await page.locator('main').textContent()).includes('未找到'), 'the 404 page does not say 未找到');
  check((await page.locator('header nav a[href="/hq/customers"]').count()) === 1, 'the 404 page has no navigation');
  await shot('not-found');
}

async function enrolAndRevoke() {
  await open('/hq');
  step = 'sign out, sign in as admin';
  await page.click('form#logout button[type=submit]');
  await page.waitForURL((url) => url.pathname === '/login');
  await signIn('admin', 'demo-admin');
  await page.waitForURL((url) => url.pathname.startsWith('/hq'));
  await open('/hq/devices');
  step = 'enrol a tablet';
  await page.selectOption('form#enrol select[name=user_id]', 'rep-01');
  await page.fill('form#enrol input[name=label]', 'browser tablet');
  await page.check('form#enrol input[name=confirm]');
  await Promise.all([page.waitForURL((url) => url.pathname === '/hq/devices/enrol'), page.click('form#enrol button[type=submit]')]);
  const token = (await page.locator('code#enrol-token').textContent()).trim();
  const device = await page.locator('section#enrolled').getAttribute('data-device-id');
  check(token.startsWith('kam_'), `the token shown is ${token}`);
  check((await page.locator('section#enrolled svg').count()) === 1, 'no QR code beside the token');
  await shot('device-enrolled');
  console.log(`ENROLLED ${device} ${token}`);
  step = 'wait for the tablet\'s stream';
  await waitForFile(join(work, 'stream-open'), WAIT_MS);
  // At this size the list pages: the tablet is found by searching for it.
  step = 'search the devices';
  await open(`/hq/devices?q=${encodeURIComponent(device)}`);
  check((await page.locator('table#devices tr[data-device-id]').count()) === 1, 'the search finds the one tablet');
  step = 'revoke the tablet';
  const row = page.locator(`tr[data-device-id=${q(device)}]`);
  await row.locator('input[name=confirm]').check();
  await Promise.all([page.waitForURL((url) => url.pathname === '/hq/devices'), row.locator('form.revoke button[type=submit]').click()]);
  console.log('REVOKED');
  await open(`/hq/devices?q=${encodeURIComponent(device)}&state=revoked`);
  await page.waitForSelector(`tr[data-device-id=${q(device)}] .error`);
  result.device = device;
  await shot('device-revoked');
}

async function scenario() {
  await signIn('hq-01', 'demo-hq-01');
  await page.waitForURL((url) => url.pathname.startsWith('/hq'));
  await searchAndSortCustomers();
  await pageThroughTickets();
  await chartRows();
  await notFound();
  await enrolAndRevoke();
}

try {
  await run();
  result.screenshots = shotNo;
  console.log(
    `RESULT ${Object.entries(result)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
} catch (error) {
  console.log(`browser: FAILED at step "${step}": ${error && error.stack ? error.stack : error}`);
  process.exit(1);
}
