// A read-only field holding something to copy (a new token, an invitation link): focusing it
// selects it all. Marked with data-select-on-focus (no inline handler: the pages' CSP forbids them).
(function () {
  "use strict";
  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });
})();
