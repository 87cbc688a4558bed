(function () {
  "use strict";
  var form = document.getElementById("filters");
  if (!form) { return; }
  form.hidden = false;
  function apply() {
    var off = {};
    form.querySelectorAll("input").forEach(function (input) {
      if (!input.checked) { off[input.name + ":" + input.value] = true; }
    });
    document.querySelectorAll(".finding").forEach(function (f) {
      f.hidden = Boolean(off["severity:" + f.dataset.severity] || off["area:" + f.dataset.area]);
    });
    document.querySelectorAll(".group").forEach(function (g) {
      g.hidden = !g.querySelector(".finding:not([hidden])");
    });
  }
  form.addEventListener("change", apply);
})();
