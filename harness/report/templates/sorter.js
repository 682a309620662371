(function () {
  "use strict";

  // A cell's sort value is its data-sort attribute when present, else its text.
  function cellValue(row, index) {
    var cell = row.cells[index];
    if (!cell) {
      return "";
    }
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    return raw.trim();
  }

  function isEmpty(value, numeric) {
    return value === "" || (numeric && !isFinite(parseFloat(value)));
  }

  function sortTable(table, header, index) {
    var numeric = header.getAttribute("data-type") === "number";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (first, second) {
      var a = cellValue(first, index);
      var b = cellValue(second, index);
      var aEmpty = isEmpty(a, numeric);
      var bEmpty = isEmpty(b, numeric);
      // Empty cells go last in both directions.
      if (aEmpty || bEmpty) {
        return aEmpty === bEmpty ? 0 : (aEmpty ? 1 : -1);
      }
      var order = numeric
        ? parseFloat(a) - parseFloat(b)
        : a.localeCompare(b, undefined, { numeric: true, sensitivity: "base" });
      return ascending ? order : -order;
    });
    rows.forEach(function (row) {
      body.appendChild(row);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      header.tabIndex = 0;
      header.title = "Sort by this column";
      header.addEventListener("click", function () {
        sortTable(table, header, index);
      });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortTable(table, header, index);
        }
      });
    });
  });
})();
