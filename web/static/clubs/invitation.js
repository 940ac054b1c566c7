// The member invitation's buttons (no inline handlers: the pages' CSP forbids them): print the
// invitation alone (invitation.css hides the rest of the page on paper), copy its link.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input) { return; }
      input.select();
      var done = function () {
        var label = button.textContent;
        button.textContent = button.getAttribute("data-copied") || label;
        window.setTimeout(function () { button.textContent = label; }, 1500);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { /* selected: the person copies */ });
      } else if (document.execCommand && document.execCommand("copy")) {
        done();
      }
    });
  });
  var link = document.getElementById("invitation-link");
  if (link) {
    link.addEventListener("focus", function () { link.select(); });
  }
})();
