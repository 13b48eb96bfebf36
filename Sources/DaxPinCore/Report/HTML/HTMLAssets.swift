/// The page's inline style and scripts. They are constant (no report text ever goes into them),
/// so their CSP hashes are too.
enum HTMLAssets {
  static let css = #"""

    :root { --pass: #dff3df; --pass-ink: #125c12; --fail: #ffd9d9; --fail-ink: #8a0000; --skip: #f0f0f0; --skip-ink: #6b6b6b;
      --error: #eadcf7; --error-ink: #5a2382; --unsafe: #c00000; --line: #c9c9c9; }
    * { box-sizing: border-box; }
    body { font: 14px/1.35 "DejaVu Sans", system-ui, sans-serif; margin: 0 18px 40px; color: #1b1b1b; background: #fff; }
    h1 { font-size: 22px; margin: 12px 0 6px; }
    h2 { font-size: 17px; margin: 16px 0 6px; }
    code { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12px; }
    .meta { margin: 4px 0; color: #333; }
    .banner { margin: 6px 0; padding: 7px 12px; border-radius: 4px; }
    .banner p { margin: 0; }
    .banner ul { margin: 4px 0 0; padding-left: 20px; }
    .banner details { display: inline; font-size: 12px; }
    .banner summary { display: inline; cursor: pointer; text-decoration: underline; }
    .banner a, .meta a { color: inherit; }
    .banner.sim { background: #fff3c4; border: 2px dashed #b08600; color: #4d3a00; }
    .banner.unsafe { background: var(--unsafe); color: #fff; border: 3px solid #ffe600; }
    .banner.unsafe code { color: #fff; }
    .badge { display: inline-block; font-size: 11px; font-weight: bold; padding: 1px 6px; border-radius: 3px; margin-left: 6px; vertical-align: middle; }
    .badge.unsafe { background: var(--unsafe); color: #fff; border: 2px solid #ffe600; }
    .badge.sim { background: #fff3c4; color: #4d3a00; border: 2px dashed #b08600; }
    table { border-collapse: collapse; }
    table.kernels td, table.kernels th { border: 1px solid var(--line); padding: 2px 8px; text-align: left; font-size: 13px; }
    table.kernels tr.has-unsafe td { background: #ffe3e3; }
    td.unsafe-count { background: var(--unsafe) !important; color: #fff; font-weight: bold; }
    #controls { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: flex-start; margin: 10px 0; }
    .legend { display: flex; flex-wrap: wrap; gap: 4px; align-items: center; }
    .key { padding: 2px 7px; border-radius: 3px; font-size: 12px; border: 1px solid var(--line); }
    form#filters { display: flex; flex-wrap: wrap; gap: 4px 10px; align-items: flex-start; font-size: 12px; }
    fieldset { border: 1px solid var(--line); padding: 1px 6px 3px; margin: 0; }
    legend { font-weight: bold; padding: 0 3px; }
    label { white-space: nowrap; margin-right: 6px; }
    .buttons button { font-size: 12px; }
    .scroll { overflow-x: auto; }
    table.matrix th, table.matrix td { border: 1px solid var(--line); padding: 2px; vertical-align: top; }
    table.matrix thead th { font-size: 11px; font-weight: 600; background: #f6f6f6; text-align: center; width: 84px; max-width: 84px; }
    table.matrix th.corner { width: 180px; max-width: none; text-align: left; }
    table.matrix tbody th { text-align: left; font-weight: normal; min-width: 170px; max-width: 240px; padding: 3px 6px; }
    table.matrix tbody tr.has-unsafe th { background: #ffe3e3; }
    .rel { display: block; font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 12px; font-weight: bold; word-break: break-all; }
    .sub { display: block; font-size: 11px; color: #555; word-break: break-all; }
    .cell { display: block; width: 100%; margin: 1px 0; padding: 1px 3px; border: 1px solid transparent; border-radius: 3px; font: 12px/1.25 "DejaVu Sans Mono", ui-monospace, monospace; text-align: left; cursor: pointer; min-height: 20px; }
    .cell .acc { color: inherit; opacity: .6; margin-right: 4px; font-size: 10px; }
    .cell .sym { font-weight: bold; }
    .cell .err { display: block; font-size: 10px; letter-spacing: -0.2px; }
    .cell.none { cursor: default; color: #aaa; background: none; }
    .v-pass { background: var(--pass); color: var(--pass-ink); }
    .v-fail { background: var(--fail); color: var(--fail-ink); border-color: var(--fail-ink); }
    .v-skip { background: var(--skip); color: var(--skip-ink); }
    .v-error { background: var(--error); color: var(--error-ink); border-color: var(--error-ink); }
    .cell.unsafe, .key.unsafe, .tag.unsafe { background: repeating-linear-gradient(135deg, #c00000 0 6px, #e00000 6px 12px); color: #fff; font-weight: bold; border: 2px solid #ffe600; box-shadow: 0 0 0 2px #c00000; }
    .cell.unsafe .acc { opacity: 1; }
    .cell.selected { outline: 3px solid #1a5fd0; outline-offset: 1px; }
    .cell.off { visibility: hidden; }
    .cell:focus-visible { outline: 3px solid #1a5fd0; }
    details.absent summary { cursor: pointer; color: #555; }
    #diff ul.changes li.unsafe code { color: var(--unsafe); font-weight: bold; }
    aside#detail { position: fixed; right: 12px; bottom: 12px; width: 460px; max-height: 80vh; overflow: auto; background: #fff; border: 2px solid #333; border-radius: 6px; box-shadow: 0 4px 18px rgba(0,0,0,.35); padding: 10px 14px; z-index: 10; }
    aside#detail h3 { margin: 0 28px 2px 0; font: bold 14px "DejaVu Sans Mono", monospace; word-break: break-all; }
    aside#detail .on { margin: 0 0 6px; color: #555; font-size: 12px; }
    aside#detail dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; margin: 0; font-size: 13px; }
    aside#detail dt { font-weight: bold; color: #444; }
    aside#detail dd { margin: 0; word-break: break-word; }
    #detail-close { position: absolute; right: 8px; top: 6px; font-size: 18px; border: none; background: none; cursor: pointer; }
    .tag { padding: 0 6px; border-radius: 3px; font-weight: bold; }
    footer { margin-top: 24px; color: #666; font-size: 12px; }
    pre#selftest { border: 1px solid #999; padding: 6px; }

    """#

  /// Runs first: records every error, unhandled rejection, console error and CSP violation, so
  /// the self-test can report them (even a syntax error in the main script).
  static let errorHooks = #"""

    (function () {
      'use strict';
      var errors = window.daxpinErrors = [];
      window.onerror = function (message, source, line) {
        errors.push('error: ' + message + (source ? ' at ' + source + ':' + line : ''));
      };
      window.addEventListener('error', function (e) {
        if (e.target && e.target !== window) errors.push('resource error: ' + (e.target.src || e.target.href || e.target.tagName));
      }, true);
      window.addEventListener('unhandledrejection', function (e) { errors.push('unhandled rejection: ' + e.reason); });
      document.addEventListener('securitypolicyviolation', function (e) {
        errors.push('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
      });
      var consoleError = console.error;
      console.error = function () {
        errors.push('console.error: ' + Array.prototype.join.call(arguments, ' '));
        return consoleError.apply(console, arguments);
      };
    })();

    """#

  /// Details, filters and the `#selftest` hook. Report text is only ever moved as DOM nodes
  /// (cloneNode), never parsed as HTML.
  static let script = #"""

    (function () {
      'use strict';
      var panel = document.getElementById('detail');
      var body = document.getElementById('detail-body');
      var form = document.getElementById('filters');
      var selected = null;

      function openCell(cell) {
        var source = document.getElementById(cell.getAttribute('data-detail'));
        if (!source) return;
        while (body.firstChild) body.removeChild(body.firstChild);
        var copy = source.cloneNode(true);
        copy.removeAttribute('id');
        body.appendChild(copy);
        panel.hidden = false;
        if (selected) { selected.classList.remove('selected'); selected.setAttribute('aria-expanded', 'false'); }
        selected = cell;
        cell.classList.add('selected');
        cell.setAttribute('aria-expanded', 'true');
      }
      function closePanel() {
        panel.hidden = true;
        if (selected) { selected.classList.remove('selected'); selected.setAttribute('aria-expanded', 'false'); }
        selected = null;
      }
      document.addEventListener('click', function (e) {
        var cell = e.target.closest ? e.target.closest('button.cell') : null;
        if (cell) openCell(cell);
      });
      document.getElementById('detail-close').addEventListener('click', closePanel);
      document.addEventListener('keydown', function (e) { if (e.key === 'Escape') closePanel(); });

      function checked(name) {
        var on = {};
        form.querySelectorAll('input[name="' + name + '"]').forEach(function (i) { on[i.value] = i.checked; });
        return on;
      }
      function applyFilters() {
        var interfaces = checked('interface'), kinds = checked('kind'), verdicts = checked('verdict');
        document.querySelectorAll('section.iface').forEach(function (s) { s.hidden = !interfaces[s.getAttribute('data-interface')]; });
        document.querySelectorAll('th[data-kind], td[data-kind]').forEach(function (c) { c.hidden = !kinds[c.getAttribute('data-kind')]; });
        document.querySelectorAll('button.cell').forEach(function (c) {
          c.classList.toggle('off', !verdicts[c.getAttribute('data-verdict')]);
        });
        if (selected && selected.classList.contains('off')) closePanel();
      }
      function setAll(name, on) {
        form.querySelectorAll('input[name="' + name + '"]').forEach(function (i) { i.checked = on(i.value); });
        applyFilters();
      }
      form.addEventListener('change', applyFilters);
      document.getElementById('only-problems').addEventListener('click', function () {
        setAll('verdict', function (v) { return v === 'fail' || v === 'error'; });
      });
      document.getElementById('show-all').addEventListener('click', function () {
        ['interface', 'kind', 'verdict'].forEach(function (n) { setAll(n, function () { return true; }); });
      });

      function selftest() {
        var out = [], broken = [];
        var cells = document.querySelectorAll('button.cell');
        var opened = 0;
        cells.forEach(function (c) {
          c.click();
          var h = body.querySelector('h3');
          if (!panel.hidden && h && h.textContent === c.getAttribute('data-probe') && c.classList.contains('selected')) opened++;
          else broken.push('details of ' + c.getAttribute('data-probe'));
        });
        closePanel();
        if (!panel.hidden) broken.push('close');
        function set(name, value, on) {
          var i = form.querySelector('input[name="' + name + '"][value="' + value + '"]');
          i.checked = on;
          i.dispatchEvent(new Event('change', { bubbles: true }));
        }
        var pass = document.querySelectorAll('button.cell[data-verdict="pass"]');
        set('verdict', 'pass', false);
        pass.forEach(function (c) { if (getComputedStyle(c).visibility !== 'hidden') broken.push('verdict filter'); });
        set('verdict', 'pass', true);
        pass.forEach(function (c) { if (getComputedStyle(c).visibility === 'hidden') broken.push('verdict filter back'); });
        var section = document.querySelector('section.iface');
        set('interface', section.getAttribute('data-interface'), false);
        if (getComputedStyle(section).display !== 'none') broken.push('interface filter');
        set('interface', section.getAttribute('data-interface'), true);
        set('kind', 'devdax', false);
        document.querySelectorAll('[data-kind="devdax"]').forEach(function (c) { if (getComputedStyle(c).display !== 'none') broken.push('kind filter'); });
        set('kind', 'devdax', true);
        var unsafe = document.querySelectorAll('button.cell.unsafe');
        unsafe.forEach(function (c) {
          if (getComputedStyle(c).color !== 'rgb(255, 255, 255)' || c.textContent.indexOf('UNSAFE') < 0) broken.push('UNSAFE style of ' + c.getAttribute('data-probe'));
        });
        var errors = window.daxpinErrors || ['error hooks did not run'];
        out.push('cells=' + cells.length);
        out.push('unsafe=' + unsafe.length);
        out.push('opened=' + opened);
        out.push('unsafe-banner=' + (document.getElementById('unsafe-banner') ? 'yes' : 'no'));
        out.push('simulated-banner=' + (document.getElementById('simulated-banner') ? 'yes' : 'no'));
        out.push('diff=' + (document.getElementById('diff') ? document.querySelectorAll('#diff li').length : 'none'));
        out.push('broken=' + broken.length);
        broken.slice(0, 20).forEach(function (b) { out.push('broken: ' + b); });
        out.push('errors=' + errors.length);
        errors.forEach(function (e) { out.push(e); });
        out.push('done');
        var pre = document.createElement('pre');
        pre.id = 'selftest';
        pre.textContent = out.join('\n');
        document.body.appendChild(pre);
      }
      // `#open=<probe id>` opens that probe's cell on the first (oldest) kernel that has it.
      if (location.hash.indexOf('#open=') === 0) {
        var wanted = decodeURIComponent(location.hash.slice(6));
        var cells = document.querySelectorAll('button.cell');
        for (var i = 0; i < cells.length; i++) {
          if (cells[i].getAttribute('data-probe') === wanted) { openCell(cells[i]); break; }
        }
      }
      if (location.hash === '#selftest') {
        try { selftest(); } catch (e) {
          var pre = document.createElement('pre');
          pre.id = 'selftest';
          pre.textContent = 'selftest threw: ' + e + '\nerrors=' + (window.daxpinErrors || []).length + '\ndone';
          document.body.appendChild(pre);
        }
      }
    })();

    """#
}
