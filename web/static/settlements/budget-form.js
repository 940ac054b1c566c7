// The new-budget form: only the annual budget's lines carry their own cost type, and only the other kinds carry
// the form's. Without this script every field shows and the server still takes what fits the kind.
(function () {
  "use strict";
  var kind = document.getElementById("f-kind");
  if (!kind) { return; }
  function fieldOf(el) { return el ? el.closest(".field") : null; }
  function sync() {
    var annual = kind.value === "annual";
    document.querySelectorAll('select[id^="f-line_type_"]').forEach(function (el) {
      var f = fieldOf(el);
      if (f) { f.hidden = !annual; }
    });
    var formType = fieldOf(document.getElementById("f-cost_type"));
    if (formType) { formType.hidden = annual; }
  }
  kind.addEventListener("change", sync);
  sync();
}());
