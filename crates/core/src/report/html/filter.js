(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  var status = document.getElementById("filter-status");
  function apply() {
    var picked = form.querySelector("input[name=area]:checked");
    var area = picked ? picked.value : "all";
    var off = {};
    form.querySelectorAll("input[name=severity]").forEach(function (input) {
      if (!input.checked) { off[input.value] = true; }
    });
    var shown = 0;
    var all = document.querySelectorAll(".finding");
    all.forEach(function (f) {
      f.hidden = Boolean(off[f.dataset.severity]) || (area !== "all" && f.dataset.area !== area);
      if (!f.hidden) { shown += 1; }
    });
    document.querySelectorAll(".group").forEach(function (g) {
      g.hidden = !g.querySelector(".finding:not([hidden])");
    });
    status.textContent = shown === all.length
      ? "Showing all " + all.length + " findings."
      : "Showing " + shown + " of " + all.length + " findings.";
  }
  form.addEventListener("change", apply);
  // "reset" fires before the inputs change back.
  form.addEventListener("reset", function () { window.setTimeout(apply, 0); });
  apply();
})();
