"""The page's own style and script, inlined into every report (no file, font or script from elsewhere).

The script sorts every sortable table by a header's button (clicked, or Enter / Space once Tab reaches it;
the first press puts the column's best rows first when it has a better direction, `data-better`, else
ascending; the next reverses) and drives each slider (an image's, and its
detail crops'): two stacked pictures, the top one clipped at the range input's value, either chosen
by the two selects.
"""

from __future__ import annotations

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1100px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; } h3 { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
table.sortable th { padding: 0; }
table.sortable th button { font: inherit; font-weight: 700; color: inherit; background: none; border: 0;
  padding: 4px 8px; width: 100%; text-align: left; cursor: pointer; user-select: none; }
table.sortable th button:focus-visible { outline: 2px solid #2563eb; outline-offset: -2px; }
th[aria-sort=ascending] button::after { content: " \\25B2"; }
th[aria-sort=descending] button::after { content: " \\25BC"; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.best { font-weight: 700; background: #dcfce7; }
h4 { font-size: 14px; margin: 16px 0 4px; }
.note { color: #8a5300; }
svg.plot { background: #fff; font-size: 12px; }
svg.plot .frame { fill: none; stroke: #888; } svg.plot .tick { stroke: #888; }
svg.plot circle { fill: #2563eb; stroke: #2563eb; stroke-width: 2; } svg.plot .axis { font-size: 13px; }
svg.plot .flagged circle { fill: #fff; } svg.plot .legend { font-size: 12px; }
.slider { position: relative; display: block; width: 100%; line-height: 0; background: #eee; touch-action: none; }
.slider img { display: block; width: 100%; height: 100%; object-fit: contain; image-rendering: pixelated; }
.slider img.top { position: absolute; top: 0; left: 0; }
.slider .divider { position: absolute; top: 0; bottom: 0; width: 2px; margin-left: -1px; background: #fff;
  box-shadow: 0 0 3px #000; pointer-events: none; }
.slider .tag { position: absolute; top: 6px; line-height: 1.3; background: rgba(0,0,0,.6); color: #fff;
  padding: 1px 6px; font-size: 12px; } .slider .tag.left { left: 6px; } .slider .tag.right { right: 6px; }
.controls { margin: 6px 0; } .controls input[type=range] { width: 100%; display: block; }
.strip { display: flex; flex-wrap: wrap; gap: 8px; margin-top: 8px; }
.strip figure { margin: 0; font-size: 12px; } .strip img { height: 72px; width: auto; display: block; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; } dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
"""

SCRIPT = """
(function () {
  function sortKey(cell) {
    var raw = cell.getAttribute('data-sort');
    if (raw === null) raw = cell.textContent.trim();
    var value = parseFloat(raw);
    return raw !== '' && !isNaN(value) && isFinite(raw) ? value : raw.toLowerCase();
  }
  function compare(a, b) {
    if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
    return typeof a === 'number' ? -1 : 1;
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var headers = table.querySelectorAll('thead th');
    headers.forEach(function (header, column) {
      var button = header.querySelector('button');
      if (!button) return;
      button.addEventListener('click', function () {  // a button: Enter and Space press it too
        var now = header.getAttribute('aria-sort');
        var ascending = now === 'ascending' ? false : now === 'descending' ? true
          : header.getAttribute('data-better') !== 'higher';  // first press: the best first
        headers.forEach(function (other) { other.removeAttribute('aria-sort'); });
        header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var k1 = sortKey(r1.cells[column]), k2 = sortKey(r2.cells[column]);
          if ((k1 === '') !== (k2 === '')) return k1 === '' ? 1 : -1;  // no value: last either way
          var order = compare(k1, k2);
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.querySelectorAll('.compare').forEach(function (box) {
    var slider = box.querySelector('.slider');
    var range = box.querySelector('input[type=range]');
    var under = slider.querySelector('img.under'), top = slider.querySelector('img.top');
    var left = box.querySelector('select.left'), right = box.querySelector('select.right');
    var pictures = box.querySelectorAll('.strip img');
    function split() {
      var at = Number(range.value);
      top.style.clipPath = 'inset(0 ' + (100 - at) + '% 0 0)';
      slider.querySelector('.divider').style.left = at + '%';
    }
    function choose() {
      var a = pictures[Number(left.value)], b = pictures[Number(right.value)];
      top.src = a.src; top.alt = a.alt; under.src = b.src; under.alt = b.alt;
      slider.querySelector('.tag.left').textContent = a.alt;
      slider.querySelector('.tag.right').textContent = b.alt;
    }
    function drag(event) {
      var rect = slider.getBoundingClientRect();
      var at = Math.max(0, Math.min(100, (event.clientX - rect.left) / rect.width * 100));
      range.value = Math.round(at * 10) / 10;
      split();
    }
    var dragging = false;
    slider.addEventListener('pointerdown', function (event) {
      event.preventDefault();
      dragging = true;
      if (slider.setPointerCapture) slider.setPointerCapture(event.pointerId);
      drag(event);
    });
    slider.addEventListener('pointermove', function (event) { if (dragging) drag(event); });
    slider.addEventListener('pointerup', function () { dragging = false; });
    range.addEventListener('input', split);
    left.addEventListener('change', choose); right.addEventListener('change', choose);
    choose(); split();
  });
})();
"""
