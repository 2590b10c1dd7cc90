// The selection day's consoles (/console/…) and headquarters' board. Served as
// /assets/console.js: the Content-Security-Policy allows no inline script, so each page hands
// over what this script needs in data- attributes of #console:
//   data-csrf      the session's CSRF token, sent as x-csrf-token with every command;
//   data-commands  where commands go (POST, JSON);
//   data-live      the desk's server-sent events; data-seq the ledger sequence the page shows;
//   data-papers    the printed papers' base path.
//
// Command forms: <form class="cmd" data-command="<kind>" data-key="<idempotency key>">; named
// inputs are the command's fields (data-type: decimal → string, int → number, bool → checkbox,
// list → comma-separated strings; a fieldset[data-list=name] of .item elements → an array of
// objects; data-skip → not sent). The key was made when the form was drawn. It is kept after a
// network failure, so sending again is the same command (the desk answers it once), and
// replaced after an answer, so the next command is a new one. A form in flight ignores
// further submits (a double click sends once).
(function () {
  'use strict';
  const root = document.getElementById('console');
  if (!root) return;
  const zh = !(document.documentElement.lang || '').startsWith('en');
  const t = (a, b) => (zh ? a : b);
  const csrf = root.dataset.csrf || '';

  // ---- idempotency keys (crypto.getRandomValues also works outside secure contexts, e.g.
  // a venue PC reaching the server over http://192.168.…) ----
  function newKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  // ---- a form's fields as the command's ----
  function value(el) {
    switch (el.dataset.type) {
      case 'int': return el.value.trim() === '' ? null : Number.parseInt(el.value, 10);
      case 'decimal': return el.value.trim();
      case 'bool': return el.checked;
      case 'list': return el.value.split(',').map((s) => s.trim()).filter((s) => s !== '');
      default: return el.value;
    }
  }
  function collect(scope, skipLists) {
    const out = {};
    for (const el of scope.querySelectorAll('input[name],select[name],textarea[name]')) {
      if (el.dataset.skip !== undefined) continue;
      if (skipLists && el.closest('[data-list]')) continue;
      if (el.type === 'checkbox' && el.dataset.type !== 'bool') { if (!el.checked) continue; }
      const v = value(el);
      if (v === null) continue;
      out[el.name] = v;
    }
    return out;
  }
  function command(form) {
    const out = Object.assign({ kind: form.dataset.command }, collect(form, true));
    for (const list of form.querySelectorAll('[data-list]')) {
      out[list.dataset.list] = Array.from(list.querySelectorAll('.item'), (item) => collect(item, false));
    }
    return out;
  }
  function fill(template, result) {
    return template.replace(/\{(\w+)\}/g, (_, k) => (result && result[k] !== undefined ? String(result[k]) : ''));
  }

  // ---- sending ----
  function show(form, kind, text, link) {
    const out = form.querySelector('output.answer');
    if (!out) return;
    out.className = 'answer ' + kind;
    out.dataset.outcome = kind;
    out.textContent = text;
    if (link) {
      const a = document.createElement('a');
      a.href = link.href; a.target = '_blank'; a.textContent = link.text; a.className = 'paper-link';
      out.append(' ', a);
    }
  }
  async function send(form) {
    if (form.dataset.busy === '1') return;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    const body = JSON.stringify({ idempotency_key: form.dataset.key, command: command(form) });
    for (const name of (form.dataset.clear || '').split(',').filter(Boolean)) {
      const field = form.querySelector('[name="' + name + '"]');
      if (field) field.value = '';
    }
    form.dataset.busy = '1';
    form.classList.add('busy');
    show(form, 'pending', t('提交中…', 'Sending…'));
    let status = 0;
    let answer = null;
    try {
      const response = await fetch(root.dataset.commands, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: body,
      });
      status = response.status;
      answer = await response.json().catch(() => null);
    } catch (e) {
      status = 0;
    }
    form.dataset.busy = '';
    form.classList.remove('busy');
    settle(form, status, answer);
  }
  function settle(form, status, answer) {
    if (status === 200 && answer) {
      const result = answer.result || {};
      const link = form.dataset.okLink && root.dataset.papers
        ? { href: root.dataset.papers + '/' + fill(form.dataset.okLink, result), text: form.dataset.okLinkText || '' }
        : null;
      const text = form.dataset.ok ? fill(form.dataset.ok, result) : t('已完成', 'Done');
      show(form, 'accepted', text, link);
      form.dataset.key = newKey();
      form.dispatchEvent(new CustomEvent('kam:accepted', { bubbles: true, detail: answer }));
      if (form.dataset.then === 'reload') window.location.reload();
      else settled(form, text);
    } else if (status === 409 && answer && answer.refusal) {
      show(form, 'refused', answer.refusal.message);
      form.dataset.key = newKey();
      form.dispatchEvent(new CustomEvent('kam:refused', { bubbles: true, detail: answer }));
      // The refusal stays readable; a part that went stale meanwhile is re-read at the next move.
    } else if (status === 0 || status === 429 || status >= 500) {
      // Not answered, or not taken: the same key is sent again, so the desk does it once.
      show(form, 'failed', t('未送达或服务器忙：可再次提交，不会重复执行。',
        'Not delivered or the server is busy: send again — it will not be done twice.'));
    } else {
      const message = answer && answer.error ? answer.error.message : String(status);
      show(form, 'refused', t('请求被拒绝：', 'Refused: ') + message);
      form.dataset.key = newKey();
    }
  }
  document.addEventListener('submit', (e) => {
    const form = e.target.closest('form.cmd');
    if (!form) return;
    e.preventDefault();
    send(form);
  });

  // ---- the control table ----
  const words = {};
  for (const el of document.querySelectorAll('#ctl-counts .count[data-status]')) {
    words[el.dataset.status] = el.dataset.word || el.dataset.status;
  }
  function money(text) {
    if (text === null || text === undefined || text === '') return '';
    const [int, frac = ''] = String(text).split('.');
    const neg = int.startsWith('-');
    const digits = neg ? int.slice(1) : int;
    const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + grouped + '.' + (frac + '00').slice(0, 2);
  }
  function setData(cell, key, v) {
    if (v === null || v === undefined) delete cell.dataset[key]; else cell.dataset[key] = v;
  }
  const held = new Set();
  function paint(u) {
    const cell = document.getElementById('u-' + u.id);
    if (!cell) return;
    cell.classList.remove('st-' + cell.dataset.status);
    cell.classList.add('st-' + u.status);
    cell.dataset.status = u.status;
    setData(cell, 'hold', u.hold);
    setData(cell, 'until', u.until);
    setData(cell, 'buyerId', u.buyer_id);
    setData(cell, 'price', u.price);
    setData(cell, 'total', u.total);
    cell.querySelector('.st').textContent = words[u.status] || u.status;
    cell.querySelector('.buyer').textContent = u.buyer || '';
    if (u.price) cell.querySelector('.price').textContent = money(u.price);
    cell.querySelector('.total').textContent = money(u.total);
    if (u.status === 'held') held.add(cell); else { held.delete(cell); cell.querySelector('.cd').textContent = ''; }
    if (chosen === cell) choose(cell, false);
  }
  for (const cell of document.querySelectorAll('.c[data-status=held]')) held.add(cell);

  // Hold countdowns, from the desk's own end time.
  function tick() {
    const now = Date.now();
    for (const cell of held) {
      const until = Date.parse(cell.dataset.until || '');
      if (Number.isNaN(until)) continue;
      const left = Math.max(0, Math.round((until - now) / 1000));
      const text = left > 0
        ? Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0')
        : t('到期', 'lapsing');
      cell.querySelector('.cd').textContent = text;
    }
  }
  setInterval(tick, 1000);
  tick();

  // ---- choosing a unit (desk console) ----
  let chosen = null;
  const panel = document.getElementById('chosen');
  function enable(selector, on) {
    for (const b of document.querySelectorAll(selector + ' button[type=submit]')) b.disabled = !on;
  }
  function choose(cell, focus) {
    if (!panel) return;
    if (chosen && chosen !== cell) chosen.classList.remove('chosen');
    chosen = cell;
    cell.classList.add('chosen');
    const d = cell.dataset;
    for (const el of document.querySelectorAll('.chosen-unit')) el.value = d.unit;
    for (const el of document.querySelectorAll('.chosen-hold')) el.value = d.hold || '';
    panel.dataset.unit = d.unit;
    panel.dataset.status = d.status;
    panel.textContent = [d.code, d.layout, d.area + '㎡', money(d.price), money(d.total),
      words[d.status] || d.status, cell.querySelector('.buyer').textContent].filter(Boolean).join(' · ');
    enable('#hold', d.status === 'available');
    enable('#release', d.status === 'held');
    enable('#prepare-ticket', d.status === 'held');
    const print = document.getElementById('print-confirmation');
    if (print) {
      print.hidden = d.status !== 'held' || !d.hold;
      if (d.hold) print.href = root.dataset.papers + '/confirmation/' + encodeURIComponent(d.hold);
    }
    const figures = document.getElementById('ticket-figures');
    if (figures) {
      figures.textContent = figures.dataset.price + ' ' + money(d.price) + ' × ' + figures.dataset.area + ' ' +
        d.area + '㎡ = ' + figures.dataset.total + ' ' + money(d.total);
    }
    if (focus) cell.focus();
  }
  document.addEventListener('click', (e) => {
    const cell = e.target.closest('.c.pick');
    if (cell) choose(cell, false);
  });
  document.addEventListener('change', (e) => {
    if (e.target.matches && e.target.matches('select.buyer-pick')) e.target.dataset.manual = '1';
  });
  document.addEventListener('kam:accepted', (e) => {
    for (const el of e.target.querySelectorAll('select.buyer-pick')) el.dataset.manual = '';
  });

  // ---- keyboard: N calls next, / goes to the ID field, arrows move on the table ----
  document.addEventListener('keydown', (e) => {
    const typing = e.target.closest('input,select,textarea');
    if (typing || e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'n' || e.key === 'N') {
      const call = document.querySelector('#call-next button[type=submit]');
      if (call) { e.preventDefault(); call.click(); }
    } else if (e.key === '/') {
      const id = document.getElementById('id-number');
      if (id) { e.preventDefault(); id.focus(); }
    } else if (e.key === 'Enter' && e.target.classList && e.target.classList.contains('pick')) {
      e.preventDefault();
      choose(e.target, true);
    } else if (e.key.startsWith('Arrow') && e.target.closest && e.target.closest('td.c')) {
      const td = e.target.closest('td');
      const row = td.parentElement;
      let next = null;
      if (e.key === 'ArrowLeft') next = td.previousElementSibling;
      if (e.key === 'ArrowRight') next = td.nextElementSibling;
      if (e.key === 'ArrowUp' || e.key === 'ArrowDown') {
        const other = e.key === 'ArrowUp' ? row.previousElementSibling : row.nextElementSibling;
        if (other) next = other.children[td.cellIndex];
      }
      if (next && next.classList.contains('pick')) { e.preventDefault(); next.focus(); }
    }
  });

  // ---- the queue ----
  function buyerItem(b) {
    const li = document.createElement('li');
    li.dataset.lotteryNo = b.lottery_no === null ? '' : b.lottery_no;
    li.dataset.buyerId = b.buyer_id;
    const no = document.createElement('b');
    no.textContent = b.lottery_no === null ? '—' : b.lottery_no;
    const name = document.createElement('span');
    name.className = 'name';
    name.textContent = b.name;
    const quota = document.createElement('small');
    quota.textContent = t('余额度 ', 'quota ') + b.quota_left;
    li.append(no, ' ', name, ' ', quota);
    return li;
  }
  function setText(id, text) {
    const el = document.getElementById(id);
    if (el) el.textContent = text;
  }
  function queue(message) {
    setText('now-serving', message.now_serving === null ? '—' : message.now_serving);
    for (const el of document.querySelectorAll('#call-next [name=now_serving], #skip [name=lottery_no]')) {
      el.value = message.now_serving === null ? 0 : message.now_serving;
    }
    const q = message.queue;
    if (!q) return;
    const s = q.serving;
    setText('serving-name', s ? s.name : '');
    setText('serving-id', s ? s.id_number_masked : '');
    const quota = document.getElementById('serving-quota');
    if (quota) quota.textContent = s ? quota.dataset.label + ' ' + s.quota_left : '';
    for (const el of document.querySelectorAll('.serving-buyer')) el.value = s ? s.buyer_id : '';
    // The buyer to hold for follows the number served, unless someone picked another.
    for (const el of document.querySelectorAll('select.buyer-pick')) {
      if (el.dataset.manual !== '1') el.value = s ? s.buyer_id : '';
    }
    const next = document.getElementById('next-list');
    if (next) next.replaceChildren(...q.next.map(buyerItem));
    const skipped = document.getElementById('skipped-list');
    if (skipped) skipped.replaceChildren(...q.skipped.map(buyerItem));
  }

  // ---- parts that re-read themselves when the desk moves ----
  async function reread(part) {
    part.dataset.stale = '';
    try {
      const response = await fetch(part.dataset.src, { credentials: 'same-origin' });
      if (response.ok) part.innerHTML = await response.text();
      else part.dataset.stale = '1';
    } catch (e) {
      part.dataset.stale = '1';
    }
  }
  async function refresh() {
    for (const part of document.querySelectorAll('[data-refresh][data-src]')) {
      // A part whose form is being filled in or sent is re-read later: when its command is
      // answered, or at the next move (a focused button is no form being filled in).
      const focus = document.activeElement;
      const typing = focus && part.contains(focus) && focus.matches('input:not([type=hidden]),select,textarea');
      if (part.querySelector('form.busy') || typing) { part.dataset.stale = '1'; continue; }
      await reread(part);
    }
  }
  // After an accepted command a part is re-read at once (its own command moved the desk); the
  // answer moves to a line above it, since the form it was shown in is redrawn.
  async function settled(form, text) {
    const part = form.closest('[data-refresh][data-src]');
    if (!part) return;
    await reread(part);
    let line = part.previousElementSibling;
    if (!line || !line.classList.contains('answer-line')) {
      line = document.createElement('p');
      line.className = 'answer-line accepted';
      part.before(line);
    }
    line.textContent = text;
  }

  // ---- the live stream ----
  const status = document.getElementById('live-status');
  if (root.dataset.live) {
    let seq = Number(root.dataset.seq || 0);
    const source = new EventSource(root.dataset.live + '?seq=' + encodeURIComponent(root.dataset.seq || ''));
    source.addEventListener('open', () => {
      if (status) { status.dataset.connected = 'true'; status.textContent = status.dataset.live; }
      root.dataset.connected = 'true';
    });
    source.addEventListener('error', () => {
      if (status) { status.dataset.connected = 'false'; status.textContent = status.dataset.lost; }
      root.dataset.connected = 'false';
    });
    source.addEventListener('desk', (e) => {
      const message = JSON.parse(e.data);
      for (const u of message.cells) paint(u);
      for (const [s, n] of Object.entries(message.counts)) {
        const b = document.querySelector('#ctl-counts .count[data-status="' + s + '"] b');
        if (b) b.textContent = n;
      }
      queue(message);
      const moved = message.ledger_seq !== seq;
      seq = message.ledger_seq;
      root.dataset.seq = seq;
      if (moved) refresh();
      document.dispatchEvent(new CustomEvent('kam:desk', { detail: message }));
    });
  }
})();
