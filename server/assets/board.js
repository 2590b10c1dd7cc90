// The live unit control table (/hq/events/{id}/board). Served as /assets/board.js: the
// Content-Security-Policy allows no inline script, so the page hands over what this script
// needs in data- attributes: the stream's URL on #board (data-stream), the texts of the
// connection state on #board-live (data-live, data-lost) and each status's label on its
// counter (#board-counts .count[data-status][data-label]).
(function () {
  'use strict';
  const board = document.getElementById('board');
  const live = document.getElementById('board-live');
  if (!board || !live || !board.dataset.stream) return;
  const labels = {};
  for (const el of document.querySelectorAll('#board-counts .count[data-status]')) {
    labels[el.dataset.status] = el.dataset.label || el.dataset.status;
  }
  function recount() {
    for (const el of document.querySelectorAll('#board-counts .count')) {
      const cells = board.querySelectorAll('td.unit[data-status="' + CSS.escape(el.dataset.status) + '"]');
      el.querySelector('b').textContent = cells.length;
    }
  }
  const source = new EventSource(board.dataset.stream);
  source.addEventListener('open', function () {
    live.dataset.connected = 'true';
    live.textContent = live.dataset.live;
  });
  source.addEventListener('error', function () {
    live.dataset.connected = 'false';
    live.textContent = live.dataset.lost;
  });
  source.addEventListener('units', function (e) {
    const message = JSON.parse(e.data);
    for (const u of message.units) {
      const cell = board.querySelector('td.unit[data-unit-id="' + CSS.escape(u.unit_id) + '"]');
      if (!cell) continue;
      cell.dataset.status = u.status;
      cell.querySelector('.status').textContent = labels[u.status] || u.status;
    }
    if (message.now_serving !== null) {
      document.getElementById('now-serving').textContent = message.now_serving;
    }
    recount();
  });
})();
