// xharness leaderboard page: sortable tables and a language filter. No network, no dependencies.
(function () {
  "use strict";

  function numberOf(cell) {
    var v = cell.getAttribute("data-v");
    return v === null || v === "" ? null : parseFloat(v);
  }

  function textOf(cell) {
    var v = cell.getAttribute("data-v");
    return v === null ? cell.textContent : v;
  }

  function format(v) {
    return v === null ? "\u2013" : v.toFixed(2);
  }

  // Sort the first body of `table` by column `col`; missing numbers always go last.
  function sortBy(table, th) {
    var col = th.cellIndex;
    var kind = th.getAttribute("data-sort");
    var first = th.getAttribute("data-first") || "ascending";
    var direction = th.getAttribute("aria-sort") === first ? (first === "ascending" ? "descending" : "ascending") : first;
    var sign = direction === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var ca = a.cells[col], cb = b.cells[col];
      if (kind === "num") {
        var x = numberOf(ca), y = numberOf(cb);
        if (x === null && y === null) return a.getAttribute("data-i") - b.getAttribute("data-i");
        if (x === null) return 1;
        if (y === null) return -1;
        if (x !== y) return sign * (x - y);
      } else {
        var s = textOf(ca), t = textOf(cb);
        if (s !== t) return sign * (s < t ? -1 : 1);
      }
      return a.getAttribute("data-i") - b.getAttribute("data-i");
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(th.parentNode.cells, function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", direction);
  }

  // Competition ranks ("1, 2, 2, 4") over complete rows, on averages rounded to 2 decimals.
  function rerank(items) {
    var ranked = items.filter(function (it) { return it.complete && it.avg !== null; });
    ranked.sort(function (a, b) { return Math.round(b.avg * 100) - Math.round(a.avg * 100) || a.order - b.order; });
    var previous = null, rank = 0;
    ranked.forEach(function (it, i) {
      var key = Math.round(it.avg * 100);
      if (key !== previous) rank = i + 1;
      previous = key;
      it.rank = rank;
    });
    items.forEach(function (it) {
      var cell = it.rankCell;
      if (!cell) return;
      cell.textContent = it.rank ? String(it.rank) : "\u2013";
      cell.setAttribute("data-v", it.rank ? String(it.rank) : "");
    });
  }

  function applyFilter() {
    var shown = {};
    Array.prototype.forEach.call(document.querySelectorAll("input.lang-toggle"), function (box) {
      shown[box.value] = box.checked;
    });
    Array.prototype.forEach.call(document.querySelectorAll(".lang-cell"), function (cell) {
      cell.classList.toggle("off", shown[cell.getAttribute("data-lang")] === false);
    });
    var perTask = {};
    Array.prototype.forEach.call(document.querySelectorAll("table.task-table"), function (table) {
      var task = table.getAttribute("data-task");
      var visible = Array.prototype.filter.call(table.tHead.querySelectorAll("th.lang-cell"), function (th) {
        return !th.classList.contains("off");
      }).length;
      var items = [];
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var sum = 0, k = 0;
        Array.prototype.forEach.call(row.querySelectorAll("td.lang-cell"), function (cell) {
          var v = numberOf(cell);
          if (!cell.classList.contains("off") && v !== null) { sum += v; k += 1; }
        });
        var avg = k ? sum / k : null;
        var avgCell = row.querySelector("td.avg");
        avgCell.textContent = format(avg);
        avgCell.setAttribute("data-v", avg === null ? "" : String(avg));
        var langsCell = row.querySelector("td.langs");
        langsCell.textContent = k + "/" + visible;
        langsCell.setAttribute("data-v", String(k));
        var complete = visible > 0 && k === visible;
        row.classList.toggle("incomplete", !complete);
        items.push({ avg: avg, complete: complete, order: Number(row.getAttribute("data-i")), rankCell: row.querySelector("td.rank") });
        perTask[task] = perTask[task] || { visible: visible, models: {} };
        perTask[task].models[row.getAttribute("data-model")] = { avg: avg, complete: complete, k: k };
      });
      rerank(items);
    });
    var overview = document.getElementById("overview-table");
    if (!overview) return;
    var items = [];
    Array.prototype.forEach.call(overview.tBodies[0].rows, function (row) {
      var model = row.getAttribute("data-model");
      var sum = 0, n = 0, complete = true;
      Array.prototype.forEach.call(row.querySelectorAll("td.task-avg"), function (cell) {
        var info = perTask[cell.getAttribute("data-task")];
        if (!info || info.visible === 0) { cell.textContent = "\u2013"; cell.setAttribute("data-v", ""); return; }
        var m = info.models[model];
        if (!m || m.avg === null) { complete = false; cell.textContent = "\u2013"; cell.setAttribute("data-v", ""); return; }
        cell.textContent = format(m.avg) + (m.complete ? "" : " (" + m.k + "/" + info.visible + ")");
        cell.setAttribute("data-v", String(m.avg));
        if (!m.complete) complete = false;
        sum += m.avg; n += 1;
      });
      complete = complete && n > 0;
      var overall = complete ? sum / n : null;
      var cell = row.querySelector("td.avg");
      cell.textContent = format(overall);
      cell.setAttribute("data-v", overall === null ? "" : String(overall));
      row.classList.toggle("incomplete", !complete);
      items.push({ avg: overall, complete: complete, order: Number(row.getAttribute("data-i")), rankCell: row.querySelector("td.rank") });
    });
    rerank(items);
  }

  function setAll(checked) {
    Array.prototype.forEach.call(document.querySelectorAll("input.lang-toggle"), function (box) { box.checked = checked; });
    applyFilter();
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable th[data-sort] button"), function (button) {
    button.addEventListener("click", function () {
      var th = button.parentNode;
      sortBy(th.closest("table"), th);
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll("input.lang-toggle"), function (box) {
    box.addEventListener("change", applyFilter);
  });
  var all = document.getElementById("langs-all"), none = document.getElementById("langs-none");
  if (all) all.addEventListener("click", function () { setAll(true); });
  if (none) none.addEventListener("click", function () { setAll(false); });
  var details = document.getElementById("show-details");
  if (details) details.addEventListener("change", function () { document.body.classList.toggle("show-details", details.checked); });
  document.documentElement.setAttribute("data-ready", "1");
})();
