// The selection day in a real browser: Debian's headless Chromium driven by playwright-core
// against a running kam-server. Run by tests/tests/console.rs, which prepares the event (12
// buyers on the list and in the lottery, a 20 s hold time, a second desk user, a user of
// another event) and checks on the server what this script reports.
//
// Environment:
//   KAM_URL          the server
//   KAM_EVENT        the selection event
//   KAM_BUYERS       how many buyers are in the lottery (called in order)
//   KAM_IDS          `lottery_no:id_number,…` — the buyers' ID numbers, for the identity check
//   KAM_HOLD_TTL_S   the policy's hold time
//   KAM_SCREENSHOTS  directory for the screenshots (NN-station.png, failure.png)
//   KAM_CHROMIUM, KAM_PLAYWRIGHT  the browser and its driver
//
// Prints `browser: ...` progress lines and a final `RESULT key=value ...` line. Every wait is
// bounded; any failure prints where it happened, saves failure.png and exits with status 1.

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
const buyers = Number(env('KAM_BUYERS'));
const ids = Object.fromEntries(env('KAM_IDS').split(',').map((pair) => pair.split(':')));
const holdTtlMs = Number(env('KAM_HOLD_TTL_S')) * 1000;
const shots = env('KAM_SCREENSHOTS');
const executablePath = env('KAM_CHROMIUM', '/usr/bin/chromium');
const { chromium } = require(env('KAM_PLAYWRIGHT'));

/** How long one wait for an element or a navigation may take. */
const WAIT_MS = 20_000;
/** How soon another console must show what the desk did (the issue's goal). */
const LIVE_MS = 1_000;
/** A bound on a wait for another screen: failing only a hung stream, not a slow machine. */
const SEEN_MS = 10_000;

mkdirSync(shots, { recursive: true });

const result = {};
const pageErrors = [];
const cspViolations = [];
let step = 'launch';
let shotNo = 0;
let current = null;
const ev = encodeURIComponent(eventId);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function q(value) {
  return JSON.stringify(String(value));
}

async function shot(page, name) {
  shotNo += 1;
  const file = join(shots, `${String(shotNo).padStart(2, '0')}-${name}.png`);
  await page.screenshot({ path: file, fullPage: false, timeout: WAIT_MS });
  console.log(`browser: ${name} — ${page.url()} (${file})`);
}

async function open(page, path, status = 200) {
  step = `open ${path}`;
  current = page;
  const response = await page.goto(base + path, { waitUntil: 'load', timeout: WAIT_MS });
  check(response !== null, `no response for ${path}`);
  check(response.status() === status, `${path} answered ${response.status()}, expected ${status}`);
  return response;
}

/** A browser context of its own (its own cookies) with one page, watched for errors. */
async function person(browser, name) {
  const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1440, height: 900 } });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI}`);
    });
    window.__answers = [];
    window.__outcomes = [];
    document.addEventListener('kam:accepted', (e) => {
      window.__answers.push(e.detail);
      window.__outcomes.push({ outcome: 'accepted', text: e.target.querySelector('output.answer')?.textContent || '' });
    });
    document.addEventListener('kam:refused', (e) => {
      window.__outcomes.push({ outcome: 'refused', text: e.detail.refusal.message });
    });
  });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (error) => {
    pageErrors.push(`${name}: ${error}`);
    console.log(`browser: script error (${name}) on ${page.url()}: ${error}`);
  });
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|CSP violation/i.test(text)) {
      cspViolations.push(`${name} ${page.url()}: ${text}`);
      console.log(`browser: CSP violation (${name}) on ${page.url()}: ${text}`);
    }
  });
  page.kamName = name;
  return page;
}

async function signIn(page, user) {
  await open(page, '/login');
  await page.fill('input[name=user]', user);
  await page.fill('input[name=password]', `demo-${user}`);
  await Promise.all([page.waitForNavigation({ timeout: WAIT_MS }), page.click('button[type=submit]')]);
}

/** Sends `form` (a selector on `page`) and waits for its answer; returns its outcome and
 *  text. With `now`, the form is sent at once, as a click already on its way would be, even if
 *  the page has meanwhile disabled its button. */
async function submit(page, form, now = false) {
  step = `${page.kamName}: ${form}`;
  current = page;
  const before = await page.evaluate(() => window.__outcomes.length);
  if (now) await page.$eval(form, (f) => f.requestSubmit());
  else await page.click(`${form} button[type=submit]`);
  await page.waitForFunction((n) => window.__outcomes.length > n, before, { timeout: WAIT_MS, polling: 20 });
  return page.evaluate((n) => window.__outcomes[n], before);
}

async function accepted(page, form) {
  const { outcome, text } = await submit(page, form);
  check(outcome === 'accepted', `${page.kamName}: ${form} was refused: ${text}`);
  return text;
}

async function nowServing(page) {
  return (await page.textContent('#now-serving')).trim();
}

/** Waits until `page` shows `number` served; returns how long that took. */
async function seesServing(page, number, bound = SEEN_MS) {
  const started = Date.now();
  await page.waitForFunction((n) => document.querySelector('#now-serving')?.textContent.trim() === String(n), number, { timeout: bound, polling: 20 });
  return Date.now() - started;
}

/** Waits until the unit's cell on `page` has `status`; returns how long that took. */
async function seesUnit(page, unit, status, bound = SEEN_MS) {
  const started = Date.now();
  await page.waitForSelector(`td.c[data-unit=${q(unit)}][data-status=${q(status)}]`, { timeout: bound });
  return Date.now() - started;
}

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
}

async function chooseCell(page, unit) {
  await page.click(`td.c.pick[data-unit=${q(unit)}]`);
  await page.waitForFunction((u) => document.querySelector('#chosen')?.dataset.unit === u, unit);
}

/** A free, priced, allotted unit on `page`'s table other than `except`. */
async function freeUnit(page, except = []) {
  const units = await page.$$eval('td.c.pick[data-status=available][data-price]', (cells) => cells.map((c) => c.dataset.unit));
  const unit = units.find((u) => !except.includes(u));
  check(unit, 'no free unit on the table');
  return unit;
}

async function run() {
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  console.log(`browser: Chromium ${browser.version()}`);
  try {
    await scenario(browser);
    check(pageErrors.length === 0, `the pages raised script errors: ${pageErrors.join('; ')}`);
    result.csp_violations = cspViolations.length;
    check(cspViolations.length === 0, `the pages broke the CSP: ${cspViolations.join('; ')}`);
  } catch (error) {
    console.log(`browser: failed at step "${step}"`);
    if (current !== null) {
      const file = join(shots, 'failure.png');
      await current.screenshot({ path: file, fullPage: false, timeout: 10_000 })
        .then(() => console.log(`browser: screenshot ${file} of ${current.url()}`))
        .catch((e) => console.log(`browser: no failure screenshot: ${e}`));
    }
    throw error;
  } finally {
    await browser.close();
  }
}

async function scenario(browser) {
  // ---- the stations open: two desks, finance, headquarters, the hall's screen ----
  const deskA = await person(browser, 'desk A');
  const deskB = await person(browser, 'desk B');
  const finance = await person(browser, 'finance');
  const hq = await person(browser, 'hq');
  const screen = await person(browser, 'screen');
  await signIn(deskA, 'staff-01');
  step = 'staff land on their console';
  check(new URL(deskA.url()).pathname === '/console', `staff landed on ${deskA.url()}`);
  await deskA.waitForSelector(`#events li.event[data-event-id=${q(eventId)}]`);
  await shot(deskA, 'console-events');
  await signIn(deskB, 'staff-02');
  await signIn(finance, 'finance-01');
  check(new URL(finance.url()).pathname === '/console', `finance landed on ${finance.url()}`);
  await signIn(hq, 'hq-01');

  await open(deskA, `/console/events/${ev}/screen-link`);
  const screenUrl = (await deskA.textContent('#screen-url')).trim();
  check(screenUrl.includes('token='), `no screen link: ${screenUrl}`);
  await shot(deskA, 'screen-link');
  step = 'big screen';
  current = screen;
  await screen.goto(screenUrl, { waitUntil: 'load' });
  await screen.waitForSelector('body[data-connected=true]');

  for (const page of [deskA, deskB]) {
    await open(page, `/console/events/${ev}/desk`);
    await page.waitForSelector('#console[data-connected=true]');
  }
  await open(finance, `/console/events/${ev}/finance`);
  await finance.waitForSelector('#console[data-connected=true]');
  await open(hq, `/hq/events/${ev}/board`);
  await hq.waitForSelector('#live-status[data-connected=true]');
  check((await deskA.locator('script:not([src])').count()) === 0, 'the desk has inline scripts');
  await shot(deskA, 'desk-before');
  await shot(screen, 'screen-before');

  // ---- calls, in lottery order, from both desks; the other desk and the screen follow ----
  const callSeen = [];
  const screenSeen = [];
  let sold = null;
  let contested = null;
  async function call(number) {
    const desk = number % 2 === 1 ? deskA : deskB;
    const other = desk === deskA ? deskB : deskA;
    await accepted(desk, '#call-next');
    await seesServing(desk, number);
    callSeen.push(await seesServing(other, number));
    screenSeen.push(await seesServing(screen, number));
  }

  await call(1);
  // Identity check of buyer 1: a wrong number, then the right one; the field never keeps it.
  step = 'identity check';
  await deskA.fill('#id-number', ids['2']);
  await deskA.press('#id-number', 'Enter');
  await deskA.waitForSelector('#check-identity output.answer.refused');
  check((await deskA.inputValue('#id-number')) === '', 'the ID field kept the number');
  await deskA.fill('#id-number', ids['1']);
  await deskA.press('#id-number', 'Enter');
  await deskA.waitForSelector('#check-identity output.answer.accepted');
  check((await deskA.inputValue('#id-number')) === '', 'the ID field kept the number');
  check(!(await deskA.content()).includes(ids['1']), 'the page shows an ID number');
  await shot(deskA, 'desk-identity');

  // Buyer 1 chooses a unit: held on every screen, ticket drawn up, sent for review.
  const first = await freeUnit(deskA);
  await chooseCell(deskA, first);
  await accepted(deskA, '#hold');
  await seesUnit(deskA, first, 'held');
  await seesUnit(deskB, first, 'held');
  await seesUnit(hq, first, 'held');
  await shot(deskA, 'desk-held');
  const confirmation = await deskA.getAttribute('#print-confirmation', 'href');
  sold = await sell(deskA, finance, first, true);
  const paperPage = await person(browser, 'papers');
  await paperPage.context().addCookies(await deskA.context().cookies());
  await open(paperPage, confirmation.replace(base, ''));
  await paperPage.waitForSelector('.paper[data-paper=confirmation]');
  await shot(paperPage, 'paper-confirmation');
  await open(paperPage, `/console/events/${ev}/papers/work-ticket/${encodeURIComponent(sold.ticket)}`);
  await paperPage.waitForSelector('.paper[data-paper=work-ticket] [data-ledger-seq]');
  await shot(paperPage, 'paper-work-ticket');
  await paperPage.context().addCookies(await finance.context().cookies());
  await open(paperPage, `/console/events/${ev}/papers/voucher/${sold.voucher}`);
  await paperPage.waitForSelector('.paper[data-paper=voucher] [data-ledger-seq]');
  await paperPage.emulateMedia({ media: 'print' });
  await shot(paperPage, 'paper-voucher');
  await paperPage.emulateMedia({ media: 'screen' });

  await call(2);
  // ---- both desks try the same unit for different buyers at the same moment ----
  step = 'free selection';
  await deskA.selectOption('#set-mode select[name=mode]', 'free');
  await accepted(deskA, '#set-mode');
  contested = await freeUnit(deskA, [first]);
  await chooseCell(deskA, contested);
  await chooseCell(deskB, contested);
  const buyerOf = async (page, n) => page.$eval(`#buyer-pick option[data-lottery-no="${n}"]`, (o) => o.value);
  await deskA.selectOption('#buyer-pick', await buyerOf(deskA, 2));
  await deskB.selectOption('#buyer-pick', await buyerOf(deskB, 3));
  step = 'contest';
  const [a, b] = await Promise.all([submit(deskA, '#hold', true), submit(deskB, '#hold', true)]);
  const outcomes = [a.outcome, b.outcome].sort().join(',');
  check(outcomes === 'accepted,refused', `the contest ended ${outcomes}: ${a.text} / ${b.text}`);
  const loser = a.outcome === 'refused' ? deskA : deskB;
  const refusal = a.outcome === 'refused' ? a.text : b.text;
  check(/已|锁定|not available|held/.test(refusal), `the loser's refusal does not say the unit is taken: ${refusal}`);
  result.contest_seen_ms = await seesUnit(loser, contested, 'held', LIVE_MS);
  await loser.waitForFunction(() => document.querySelector('#chosen')?.dataset.status === 'held', null, { timeout: LIVE_MS });
  result.contest = 'one_won';
  const contestedAt = Date.now();
  await shot(loser, 'desk-contest-lost');
  await deskA.selectOption('#set-mode select[name=mode]', 'strict_order');
  await accepted(deskA, '#set-mode');

  for (let n = 3; n <= 5; n += 1) await call(n);
  // Skip and recall: number 6 is skipped (which calls 7), keeps their number, and is called
  // back; the next call is 8.
  await call(6);
  await accepted(deskB, '#skip');
  await seesServing(deskB, 7);
  callSeen.push(await seesServing(deskA, 7));
  screenSeen.push(await seesServing(screen, 7));
  await deskB.waitForSelector('#skipped-list li[data-lottery-no="6"]');
  await deskB.fill('#recall input[name=lottery_no]', '6');
  await accepted(deskB, '#recall');
  await seesServing(deskA, 6);
  await seesServing(screen, 6);
  for (let n = 8; n <= buyers; n += 1) await call(n);
  result.calls = buyers;
  await shot(deskB, 'desk-b-after-calls');
  await shot(screen, 'screen-after-calls');

  // ---- a swap by red-ink reversal, and the new unit sold ----
  step = 'swap';
  const swapForm = `#vouchers form.cmd[data-command=swap_unit]:has(input[name=voucher_no][value="${sold.voucher}"])`;
  await finance.waitForSelector(swapForm);
  const target = await finance.$eval(`${swapForm} select[name=new_unit_id]`, (s, skip) => {
    const option = Array.from(s.options).find((o) => o.value && !skip.includes(o.value));
    return option ? option.value : '';
  }, [first, contested]);
  check(target !== '', 'no unit to swap to');
  await finance.selectOption(`${swapForm} select[name=new_unit_id]`, target);
  await finance.fill(`${swapForm} input[name=reason]`, '买受人换房');
  finance.once('dialog', (d) => d.accept());
  await accepted(finance, swapForm);
  await seesUnit(deskA, first, 'available');
  await seesUnit(deskA, target, 'held');
  await finance.waitForSelector('a.paper-red');
  const red = await finance.getAttribute('a.paper-red', 'href');
  await shot(finance, 'finance-after-swap');
  await open(paperPage, red.replace(base, ''));
  await paperPage.waitForSelector('.paper[data-paper=red] [data-ledger-seq]');
  await shot(paperPage, 'paper-red');
  await deskA.reload();
  await deskA.waitForSelector('#console[data-connected=true]');
  await sell(deskA, finance, target, false);
  result.swapped_from = first;
  result.swapped_to = target;

  // ---- the contested unit's hold lapses: it comes back on every screen ----
  step = 'hold lapses';
  const lapseBound = Math.max(0, contestedAt + holdTtlMs - Date.now()) + SEEN_MS;
  await seesUnit(deskA, contested, 'available', lapseBound);
  for (const page of [deskB, hq]) await seesUnit(page, contested, 'available');
  // The hall's screen counts it among the units left again: its total agrees with the desk's.
  const available = Number((await deskA.textContent('#ctl-counts .count[data-status=available] b')).trim());
  step = 'the screen counts the lapsed unit';
  current = screen;
  await screen.waitForFunction((n) => {
    const counts = Array.from(document.querySelectorAll('#left-by-building li[data-building] .n'));
    return counts.reduce((sum, el) => sum + Number(el.textContent.trim()), 0) === n;
  }, available, { timeout: SEEN_MS });
  result.lapsed = 'back_everywhere';
  result.lapsed_unit = contested;
  await shot(hq, 'hq-board');

  // ---- refusals: staff of another event, a rep ----
  step = 'refusals';
  const other = await person(browser, 'other staff');
  await signIn(other, 'staff-other');
  await other.waitForSelector('#no-events');
  await open(other, `/console/events/${ev}/desk`, 403);
  await other.waitForSelector('.error-page[data-code=not_this_event] h1#forbidden');
  await shot(other, 'refused-other-event');
  const rep = await person(browser, 'rep');
  await signIn(rep, 'rep-01');
  await open(rep, `/console/events/${ev}/desk`, 403);
  await rep.waitForSelector('.error-page h1#forbidden');
  await shot(rep, 'refused-rep');
  result.refusals = 'clear';

  // ---- the day's end: finance reconciles ----
  step = 'reconciliation';
  await open(finance, `/console/events/${ev}/finance`);
  await finance.waitForSelector('#reconciliation #reconciled');
  await shot(finance, 'finance-reconciled');
  await shot(deskA, 'desk-end');
  await shot(screen, 'screen-end');
  result.call_seen_p50_ms = percentile(callSeen, 0.5);
  result.call_seen_max_ms = Math.max(...callSeen);
  result.screen_seen_p50_ms = percentile(screenSeen, 0.5);
  result.screen_seen_max_ms = Math.max(...screenSeen);
  result.screenshots = shotNo;
}

/** Sells `unit` (held on `desk`'s table) through the pages: work ticket, review, receipt,
 *  voucher. With `twice`, the receipt form is sent twice and its request resent with the
 *  same key, which must make one receipt. Returns the ticket and voucher numbers. */
async function sell(desk, finance, unit, twice) {
  step = `sell ${unit}`;
  await chooseCell(desk, unit);
  await desk.waitForFunction(() => document.querySelector('#chosen')?.dataset.status === 'held');
  await desk.fill('#prepare-ticket input[name=payment_ratio_pct]', '60');
  await desk.check('#prepare-ticket .item input[name=taken] >> nth=0');
  await desk.fill('#prepare-ticket input[name=sealing_fee]', '2000');
  await accepted(desk, '#prepare-ticket');
  const ticketLink = await desk.getAttribute('#prepare-ticket output a.paper-link', 'href');
  const ticket = decodeURIComponent(ticketLink.split('/').pop());
  await shot(desk, 'desk-ticket');

  step = `review ${ticket}`;
  const review = `#review-queue tr.ticket[data-ticket-id=${q(ticket)}] form.cmd[data-command=review_work_ticket]`;
  await finance.waitForSelector(review);
  await shot(finance, 'finance-review');
  await accepted(finance, review);
  const receipt = `#cashier form.cmd[data-command=record_receipt]:has(input[name=ticket_id][value=${q(ticket)}])`;
  await finance.waitForSelector(receipt);
  if (twice) {
    step = 'double submit';
    const before = await finance.evaluate(() => window.__answers.length);
    const sent = await finance.$eval(receipt, (form) => {
      const key = form.dataset.key;
      const body = {
        idempotency_key: key,
        command: { kind: 'record_receipt', ticket_id: form.querySelector('[name=ticket_id]').value,
          amount: form.querySelector('[name=amount]').value.trim(), method: form.querySelector('[name=method]').value },
      };
      form.requestSubmit();
      form.requestSubmit();
      return body;
    });
    await finance.waitForFunction((n) => window.__answers.length > n, before);
    const answers = await finance.evaluate(() => window.__answers);
    check(answers.length === before + 1, `two submits gave ${answers.length - before} answers`);
    const again = await finance.evaluate(async (body) => {
      const root = document.getElementById('console');
      const response = await fetch(root.dataset.commands, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': root.dataset.csrf },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    }, sent);
    const firstAnswer = answers[answers.length - 1];
    check(again.status === 200 && again.body.result.receipt_id === firstAnswer.result.receipt_id,
      `a resubmit with the same key was not the same command: ${JSON.stringify(again)}`);
    result.double_submit = 'one_command';
    result.double_ticket = ticket;
  } else {
    await accepted(finance, receipt);
  }
  const issue = `#cashier form.cmd[data-command=issue_voucher]:has(input[name=ticket_id][value=${q(ticket)}])`;
  await finance.waitForSelector(`${issue} button[type=submit]:not([disabled])`);
  await accepted(finance, issue);
  const voucher = (await finance.evaluate(() => window.__answers[window.__answers.length - 1])).result.voucher_no;
  await seesUnit(desk, unit, 'sold');
  await finance.waitForSelector(`a.paper-voucher[href$="/voucher/${voucher}"]`);
  await shot(finance, 'finance-voucher');
  return { ticket, voucher };
}

run()
  .then(() => {
    console.log(`RESULT ${Object.entries(result).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  })
  .catch((error) => {
    console.log(`browser: ${error.stack || error}`);
    process.exit(1);
  });
