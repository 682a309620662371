(function () {
  "use strict";

  // Select boxes with a data-filter attribute name a row attribute (data-task, data-model, ...).
  // An element marked data-filter-item is hidden when it has that attribute with another value
  // than the selected one; elements without the attribute stay visible.
  var selects = Array.prototype.slice.call(document.querySelectorAll("select[data-filter]"));
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-filter-item]"));
  var count = document.getElementById("filter-count");
  var reset = document.getElementById("filter-reset");

  function applyFilters() {
    var active = selects.filter(function (select) {
      return select.value !== "";
    });
    items.forEach(function (item) {
      item.hidden = active.some(function (select) {
        var name = "data-" + select.getAttribute("data-filter");
        return item.hasAttribute(name) && item.getAttribute(name) !== select.value;
      });
    });
    if (count) {
      var rows = document.querySelectorAll("#aggregate-table tbody tr");
      var shown = Array.prototype.filter.call(rows, function (row) {
        return !row.hidden;
      }).length;
      count.textContent = shown + " of " + rows.length + " summary rows shown";
    }
  }

  // Open every <details> around the element that the URL fragment names, and its list of all
  // examples, so a link to a unit shows that unit's examples even when they are collapsed.
  function openTarget() {
    var id;
    try {
      id = decodeURIComponent(window.location.hash.slice(1));
    } catch (error) {
      // A fragment typed by hand may hold a malformed escape such as "%E0".
      return;
    }
    var target = id ? document.getElementById(id) : null;
    if (!target) {
      return;
    }
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") {
        node.open = true;
      }
    }
    target.querySelectorAll("details.all-examples").forEach(function (details) {
      details.open = true;
    });
    target.scrollIntoView();
  }

  selects.forEach(function (select) {
    select.addEventListener("change", applyFilters);
  });
  if (reset) {
    reset.addEventListener("click", function () {
      selects.forEach(function (select) {
        select.value = "";
      });
      applyFilters();
    });
  }
  window.addEventListener("hashchange", openTarget);
  applyFilters();
  openTarget();
})();
