// The hall's big screen (/screen/{id}). Served as /assets/screen.js: the
// Content-Security-Policy runs no inline script, so the page hands over its stream's URL and
// its texts in data- attributes of <body> and #screen-state. Each `screen` message carries
// everything the screen shows; this script repaints from it, keeps the clock, and shows times
// in the hall PC's own time zone.
(function () {
  'use strict';
  const body = document.body;
  const state = document.getElementById('screen-state');
  if (!body.dataset.stream || !state) return;
  const locale = body.dataset.locale || 'zh-CN';

  function hhmm(iso) {
    const at = new Date(iso);
    if (isNaN(at.getTime())) return iso;
    return at.toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', hour12: false });
  }

  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function counts(list, attr, lines) {
    list.replaceChildren.apply(list, lines.map(function (l) {
      const li = el('li');
      li.setAttribute(attr, l.name);
      const n = el('b', l.left, 'n');
      if (l.left === 0) n.setAttribute('data-zero', '');
      li.append(el('span', l.name, 'name'), ' ', n);
      return li;
    }));
  }

  function paint(m) {
    document.getElementById('now-serving').textContent = m.now_serving ? m.now_serving.number : '—';
    document.getElementById('now-serving-name').textContent = m.now_serving ? m.now_serving.name : '';
    const next = document.getElementById('next-numbers');
    next.replaceChildren.apply(next, m.next.map(function (n) { return el('li', n); }));
    counts(document.getElementById('left-by-building'), 'data-building', m.by_building);
    counts(document.getElementById('left-by-layout'), 'data-layout', m.by_layout);
    const recent = document.getElementById('recent-sales');
    recent.replaceChildren.apply(recent, m.recent.map(function (s) {
      const li = el('li');
      const time = el('time', hhmm(s.sold_at));
      time.setAttribute('datetime', s.sold_at);
      li.append(el('span', s.code, 'code'), ' ', el('span', s.layout, 'layout'), ' ', time);
      return li;
    }));
  }

  const clock = document.getElementById('clock');
  function tick() {
    clock.textContent = new Date().toLocaleTimeString(locale, { hour12: false });
  }
  tick();
  setInterval(tick, 1000);
  for (const t of document.querySelectorAll('#recent-sales time[datetime]')) {
    t.textContent = hhmm(t.getAttribute('datetime'));
  }

  const source = new EventSource(body.dataset.stream);
  source.addEventListener('open', function () {
    body.dataset.connected = 'true';
    state.textContent = state.dataset.live;
  });
  source.addEventListener('error', function () {
    body.dataset.connected = 'false';
    // A closed source is a refused one (the link was rotated): the browser will not retry.
    state.textContent = source.readyState === EventSource.CLOSED ? state.dataset.closed : state.dataset.lost;
  });
  source.addEventListener('screen', function (e) {
    paint(JSON.parse(e.data));
  });
})();
