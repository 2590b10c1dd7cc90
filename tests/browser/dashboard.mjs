// Headquarters' dashboard in a real browser: Debian's headless Chromium driven by the npm
// package playwright-core, against a running kam-server. Run by tests/tests/dashboard.rs,
// which prepares the server's state, answers the board's handshake and checks on the server
// what this script reports.
//
// Environment:
//   KAM_URL           the server, e.g. http://127.0.0.1:41234
//   KAM_EVENT         the selection event whose live board is watched
//   KAM_UNIT          the unit the Rust side holds and sells while the board is open
//   KAM_CONFLICT_DOC, KAM_CONFLICT_PATH, KAM_CONFLICT_VALUE
//                     the open conflict to settle and the value to choose
//   KAM_SCREENSHOTS   directory for the full-page screenshots (NN-step.png, failure.png)
//   KAM_DOWNLOADS     directory for downloaded reports
//   KAM_CHROMIUM      the browser (default /usr/bin/chromium)
//   KAM_PLAYWRIGHT    the playwright-core package directory
//
// Prints `browser: ...` progress lines, `BOARD_OPEN` once the live board is connected and
// `BOARD_HELD` once it showed the unit held (the Rust side acts on both lines), and a final
// `RESULT key=value ...` line. Every wait is bounded; any failure prints where it happened,
// saves failure.png and exits with status 1.

import { createRequire } from 'node:module';
import { mkdirSync } from 'node:fs';
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
const eventId = env('KAM_EVENT');
const unitId = env('KAM_UNIT');
const conflictDoc = env('KAM_CONFLICT_DOC');
const conflictPath = env('KAM_CONFLICT_PATH');
const conflictValue = env('KAM_CONFLICT_VALUE');
const shots = env('KAM_SCREENSHOTS');
const downloads = env('KAM_DOWNLOADS');
const executablePath = env('KAM_CHROMIUM', '/usr/bin/chromium');
const playwrightDir = env('KAM_PLAYWRIGHT');

/** How long one wait for an element, a navigation or a download may take. */
const WAIT_MS = 20_000;
/** How long the board may take to show what the desk did (its stream follows each commit). */
const BOARD_MS = 60_000;

mkdirSync(shots, { recursive: true });
mkdirSync(downloads, { recursive: true });

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

async function scenario() {
  // Sign-in: a wrong password re-renders the form with an error; the right one opens /hq.
  await open('/login');
  step = 'sign-in form';
  await page.waitForSelector('input[name=user]');
  await page.waitForSelector('input[name=password]');
  await shot('login');
  await signIn('hq-01', 'not-the-password');
  step = 'sign-in refused';
  await page.waitForSelector('.error');
  check(new URL(page.url()).pathname === '/login', `a wrong password left the sign-in page: ${page.url()}`);
  await shot('login-refused');
  await signIn('hq-01', 'demo-hq-01');
  step = 'overview';
  await page.waitForURL((url) => url.pathname === '/hq', { timeout: WAIT_MS });
  await page.waitForSelector('h1');
  await page.waitForSelector('.card #count-customers');
  check((await htmlLang()) === 'zh-CN', `the dashboard is not Chinese by default: ${await htmlLang()}`);
  const customers = Number.parseInt((await page.textContent('#count-customers')).trim(), 10);
  check(customers > 0, `the overview counts ${customers} customers`);
  result.customers = customers;
  check(await page.locator('nav a').count() > 0, 'no navigation links');
  await shot('overview');

  // The language switch, there and back.
  step = 'switch to English';
  await page.click('a#lang-en');
  await page.waitForSelector('html[lang="en"]');
  await page.waitForSelector('#count-customers');
  await shot('overview-english');
  step = 'switch back to Chinese';
  await page.click('a#lang-zh');
  await page.waitForSelector('html[lang="zh-CN"]');
  await page.waitForSelector('#count-customers');
  await shot('overview-chinese');

  // The language switch goes back only to this site: a tab in `back` (which browsers drop,
  // turning `/\t/evil.example` into `//evil.example`) or a newline sends it to the overview.
  const origin = new URL(base).origin;
  for (const [code, lang, back] of [
    ['en', 'en', '/%09/evil.example'],
    ['zh', 'zh-CN', '%0a'],
  ]) {
    step = `language switch with back=${back}`;
    const response = await page.goto(`${base}/lang/${code}?back=${back}`, {
      waitUntil: 'load',
      timeout: WAIT_MS,
    });
    const url = new URL(page.url());
    check(url.origin === origin, `back=${back} left the site for ${page.url()}`);
    check(url.pathname === '/hq', `back=${back} went to ${page.url()}, not the overview`);
    check(response !== null && response.status() === 200, `back=${back} ended in ${response?.status()}`);
    await page.waitForSelector(`html[lang="${lang}"]`);
    await page.waitForSelector('#count-customers');
  }
  result.offsite_back = 'stayed';

  // The language switch comes back to the page with its filters.
  step = 'language switch keeps the filters';
  await open('/hq/customers?tier=strategic');
  await page.click('a#lang-en');
  await page.waitForSelector('html[lang="en"]');
  check(
    new URL(page.url()).pathname === '/hq/customers' && new URL(page.url()).searchParams.get('tier') === 'strategic',
    `the language switch lost the filter: ${page.url()}`,
  );

  // An unknown page is a localized page with the navigation, in English and in Chinese.
  for (const [lang, title, path] of [
    ['en', 'Not found', '/hq/no-such-page'],
    ['zh-CN', '未找到', '/hq/no-such-page'],
    ['zh-CN', '未找到', '/hq/customers/no-such-customer'],
  ]) {
    if (lang === 'zh-CN' && (await htmlLang()) !== 'zh-CN') {
      step = 'switch to Chinese from the error page';
      await page.click('a#lang-zh');
      await page.waitForSelector('html[lang="zh-CN"]');
    }
    await open(path, 404);
    step = `unknown page ${path} (${lang})`;
    check((await htmlLang()) === lang, `${path} is in ${await htmlLang()}, expected ${lang}`);
    const said = (await page.textContent('#error[data-code="not_found"] h1')).trim();
    check(said === title, `${path} says ${said}, expected ${title}`);
    check((await page.locator('header nav a[href="/hq/customers"]').count()) === 1, `${path} has no navigation`);
    check((await page.locator('a#back-to-overview[href="/hq"]').count()) === 1, `${path} has no way back`);
    check(
      (await page.locator('a#lang-zh').count()) === 1 && (await page.locator('a#lang-en').count()) === 1,
      `${path} has no language switch`,
    );
    await shot(`unknown-page-${lang}`);
  }
  result.unknown_page = 404;

  // Customers by tier and grade, a tier filter, and one customer's file.
  await open('/hq/customers');
  step = 'customers';
  await page.waitForSelector('table#customers tr[data-customer-id]');
  const listed = await page.locator('table#customers tr[data-customer-id]').count();
  check(listed === customers, `the customers page lists ${listed}, the overview counts ${customers}`);
  check(
    (await page.locator('table#customers tr[data-customer-id] td.tier').count()) === listed &&
      (await page.locator('table#customers tr[data-customer-id] td.grade').count()) === listed,
    'a customer row lacks its tier or grade cell',
  );
  await shot('customers');
  step = 'customers filtered by tier';
  // The filters are a form: pick the tier, submit, and the address carries the filter.
  await page.selectOption('#filter-tier', 'strategic');
  await Promise.all([
    page.waitForURL((url) => url.searchParams.get('tier') === 'strategic'),
    page.click('#customer-search button[type=submit]'),
  ]);
  await page.waitForSelector('table#customers');
  const tiers = await page.$$eval('table#customers tr[data-customer-id] td.tier', (cells) =>
    cells.map((c) => c.dataset.tier ?? c.textContent.trim()),
  );
  check(
    tiers.every((t) => t === 'strategic'),
    `the strategic filter shows other tiers: ${tiers.join(', ')}`,
  );
  result.strategic = tiers.length;
  await shot('customers-strategic');
  step = 'one customer file';
  await open('/hq/customers');
  const firstRow = page.locator('table#customers tr[data-customer-id]').first();
  const firstName = (await firstRow.locator('a').first().textContent()).trim();
  await firstRow.locator('a').first().click();
  await page.waitForURL((url) => url.pathname.startsWith('/hq/customers/'));
  for (const section of ['#contacts', '#visits', '#tickets', '#history']) {
    await page.waitForSelector(section);
  }
  const heading = (await page.textContent('h1')).trim();
  check(heading === firstName, `the customer's page is titled ${heading}, the list said ${firstName}`);
  await shot('customer-file');

  // Approve the first re-grade proposal.
  await open('/hq/regrades');
  step = 're-grades';
  const proposal = page.locator('table#regrades tr[data-customer-id]').first();
  await proposal.waitFor({ timeout: WAIT_MS });
  const regraded = await proposal.getAttribute('data-customer-id');
  const tierCell = proposal.locator('td.proposed-tier');
  const proposedTier = (await tierCell.getAttribute('data-tier')) ?? (await tierCell.textContent()).trim();
  const proposedGrade = (await proposal.locator('td.proposed-grade').textContent()).trim();
  result.regrade_customer = regraded;
  result.regrade_tier = proposedTier;
  result.regrade_grade = proposedGrade;
  await shot('regrades');
  step = 'approve a re-grade';
  // A decision asks for its confirmation first: without the tick the server refuses it.
  await proposal.locator('form.decide:has(button.approve) input[name=confirm]').check();
  await proposal.locator('button.approve').click();
  await page.waitForURL((url) => url.pathname === '/hq/regrades' && url.search !== '');
  await page.waitForSelector('.flash');
  check(
    (await page.locator(`table#regrades tr[data-customer-id=${q(regraded)}]`).count()) === 0,
    `the approved proposal for ${regraded} is still listed`,
  );
  await shot('regrade-approved');

  // Settle the concurrent rename.
  await open('/hq/review');
  step = 'conflicts';
  const conflict = page.locator(
    `table#conflicts tr[data-doc-id=${q(conflictDoc)}][data-path=${q(conflictPath)}]`,
  );
  await conflict.waitFor({ timeout: WAIT_MS });
  const choices = await conflict.locator('button.choose').allTextContents();
  check(choices.length >= 2, `the conflict offers ${choices.length} values: ${choices.join(' | ')}`);
  await page.waitForSelector('nav#review-tabs');
  await shot('review');
  step = 'choose a value';
  await conflict.locator('button.choose').filter({ hasText: exactText(conflictValue) }).click();
  await page.waitForURL((url) => url.pathname === '/hq/review' && url.search !== '');
  await page.waitForSelector('.flash');
  check((await conflict.count()) === 0, `the conflict on ${conflictDoc} ${conflictPath} is still listed`);
  result.conflict = 'resolved';
  await shot('conflict-resolved');
  // The other queues, each its own list behind a tab.
  for (const [tab, table, name] of [
    ['/hq/review/violations', 'table#violations', 'violations'],
    ['/hq/review/quarantine', 'table#quarantine', 'quarantine'],
  ]) {
    await page.locator(`nav#review-tabs a[href="${tab}"]`).click();
    await page.waitForURL((url) => url.pathname === tab);
    step = name;
    await page.waitForSelector(table);
    await shot(name);
  }

  // The other headquarters pages open and show their tables.
  for (const [path, table, name] of [
    ['/hq/visits', 'table#visit-compliance', 'visit-compliance'],
    ['/hq/tickets', 'table#tickets', 'tickets'],
    ['/hq/devices', 'table#devices', 'devices'],
  ]) {
    await open(path);
    step = name;
    await page.waitForSelector(table);
    await shot(name);
  }

  // The live board: the Rust side holds, then sells the unit while the page stays open.
  await open(`/hq/events/${encodeURIComponent(eventId)}/board`);
  step = 'live board connects';
  await page.waitForSelector('#live-status[data-connected="true"]', { timeout: WAIT_MS });
  // Live under the Content-Security-Policy: the script is the static /assets/console.js.
  const inlineScripts = await page.locator('script:not([src])').count();
  check(inlineScripts === 0, `the board page has ${inlineScripts} inline scripts`);
  check(
    (await page.locator('script[src^="/assets/console.js"]').count()) === 1,
    'the board page does not load /assets/console.js',
  );
  check((await page.locator('style').count()) === 0, 'a page has an inline <style>');
  const cell = `#ctl td.c[data-unit=${q(unitId)}]`;
  await page.waitForSelector(`${cell}[data-status="available"]`);
  const cells = await page.locator('#ctl td.c[data-unit]').count();
  check(cells > 0, 'the board shows no units');
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations += 1;
  });
  await page.evaluate(() => {
    window.__kamMarker = 1;
  });
  await shot('board-open');
  console.log(`BOARD_OPEN unit=${unitId}`);
  step = 'board shows the hold';
  await page.waitForSelector(`${cell}[data-status="held"]`, { timeout: BOARD_MS });
  await shot('board-held');
  console.log(`BOARD_HELD unit=${unitId}`);
  step = 'board shows the sale';
  await page.waitForSelector(`${cell}[data-status="sold"]`, { timeout: BOARD_MS });
  const marker = await page.evaluate(() => window.__kamMarker);
  check(marker === 1 && navigations === 0, `the board reloaded (marker ${marker}, ${navigations} navigations)`);
  check(
    (await page.getAttribute('#live-status', 'data-connected')) === 'true',
    'the board lost its live connection',
  );
  result.board_units = cells;
  result.unit = unitId;
  result.unit_status = 'sold';
  await shot('board-sold');

  // Reconciliation after the sale: receipts, vouchers and units agree.
  await open(`/hq/events/${encodeURIComponent(eventId)}/reconciliation`);
  step = 'reconciliation';
  await page.waitForSelector('#reconciliation');
  const mismatches = await page.locator('#reconciliation .mismatch').count();
  check(mismatches === 0, `reconciliation lists ${mismatches} mismatches after one clean sale`);
  result.mismatches = mismatches;
  await shot('reconciliation');

  // The monthly report as Excel.
  await open('/hq/reports');
  step = 'reports';
  for (const link of ['a#monthly-xlsx', 'a#monthly-csv', 'a#quarterly-xlsx', 'a#quarterly-csv']) {
    await page.waitForSelector(link);
  }
  await page.waitForSelector('input[name=month]');
  await shot('reports');
  step = 'download the monthly xlsx';
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: WAIT_MS }),
    page.click('a#monthly-xlsx'),
  ]);
  const failure = await download.failure();
  check(failure === null, `the download failed: ${failure}`);
  const saved = join(downloads, 'monthly.xlsx');
  await download.saveAs(saved);
  result.xlsx = 'monthly.xlsx';
  result.xlsx_suggested = encodeURIComponent(download.suggestedFilename());
  console.log(`browser: downloaded ${download.suggestedFilename()} to ${saved}`);
  await shot('report-downloaded');

  // Account management (issue 23): the pipeline, a plan, surveys, scorecards, the monthly
  // review (closing an open measure through its confirmation) and the organisations.
  await open('/hq/pipeline');
  step = 'pipeline';
  await page.waitForSelector('table#stages tr[data-stage=won]');
  await page.waitForSelector('p#win-rate');
  const firstLead = page.locator('table#leads tr[data-lead-id] a').first();
  await firstLead.waitFor({ timeout: WAIT_MS });
  result.leads = await page.locator('table#leads tr[data-lead-id]').count();
  await shot('pipeline');
  await firstLead.click();
  await page.waitForURL((url) => url.pathname.startsWith('/hq/pipeline/'));
  await page.waitForSelector('table#history');
  await shot('lead');
  await open('/hq/plans');
  step = 'plans';
  const plan = page.locator('table#plans tr[data-plan-id]').first();
  await plan.waitFor({ timeout: WAIT_MS });
  result.plans = await page.locator('table#plans tr[data-plan-id]').count();
  await shot('plans');
  await plan.locator('a').first().click();
  await page.waitForURL((url) => url.pathname.startsWith('/hq/plans/'));
  await page.waitForSelector('table#quarters');
  await page.waitForSelector('table#owners');
  await shot('plan');
  await open('/hq/surveys');
  step = 'surveys';
  await page.waitForSelector('table#survey-customers');
  await shot('surveys');
  await open('/hq/scorecards');
  step = 'scorecards';
  await page.waitForSelector('table#scorecards');
  await shot('scorecards');
  await open('/hq/organisations');
  step = 'organisations';
  await page.waitForSelector('table#candidates tr[data-organisation-id]');
  await shot('organisations');
  await page.locator('a#all-collections').click();
  await page.waitForURL((url) => url.pathname === '/hq/collections');
  step = 'collections';
  await page.waitForSelector('table#collections');
  await shot('collections');
  await open('/hq/meetings');
  step = 'monthly review';
  const month = page.locator('table#months tr[data-month] a').first();
  await month.waitFor({ timeout: WAIT_MS });
  await shot('meetings');
  await month.click();
  await page.waitForURL((url) => /^\/hq\/meetings\/\d{4}-\d{2}$/.test(url.pathname));
  step = 'close a measure';
  const closeForm = page.locator('form#close-form');
  await closeForm.waitFor({ timeout: WAIT_MS });
  const measure = await closeForm.locator('select[name=measure_id]').inputValue();
  await closeForm.locator('input[name=note]').fill('已完成整改并回访客户');
  await closeForm.locator('input[name=confirm]').check();
  await closeForm.locator('button[type=submit]').click();
  await page.waitForSelector('.flash');
  result.measure_month = new URL(page.url()).pathname.split('/').pop();
  result.measure_closed = measure;
  await shot('measure-closed');

  // Sign out.
  step = 'sign out';
  await page.click('form#logout button[type=submit]');
  await page.waitForURL((url) => url.pathname === '/login');
  await page.waitForSelector('input[name=user]');
  await shot('signed-out');

  // A rep signs in and may not open headquarters' pages.
  step = 'rep signs in';
  await signIn('rep-01', 'demo-rep-01');
  await page.waitForSelector('h1#forbidden');
  for (const path of ['/hq', '/hq/customers']) {
    await open(path, 403);
    step = `rep refused ${path}`;
    await page.waitForSelector('h1#forbidden');
    const said = (await page.textContent('h1#forbidden')).trim();
    check(said === '无权访问', `the forbidden page says ${said}`);
    await shot(`rep-forbidden${path.replaceAll('/', '-')}`);
  }
  result.rep_status = 403;

  // The forbidden page's sign-out carries the session's CSRF token, so it works.
  step = 'rep signs out from the forbidden page';
  check(
    (await page.locator('form#logout input[name=csrf]').getAttribute('value'))?.length > 0,
    'the forbidden page signs out without a CSRF token',
  );
  await page.click('form#logout button[type=submit]');
  await page.waitForURL((url) => url.pathname === '/login');
  await open('/hq/customers', 200);
  check(new URL(page.url()).pathname === '/login', `signed out, /hq/customers showed ${page.url()}`);
  await shot('rep-signed-out');
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
