// The ticket pages: a form drawn again with its problems (a ticket's page holds several forms, most far
// down a phone's screen) is brought into view, its first faulty field focused. No inline handler: the
// pages' Content-Security-Policy forbids them.
(function () {
  "use strict";
  var bad = document.querySelector("main .has-error, main form [role=alert]");
  if (!bad) { return; }
  bad.scrollIntoView({ block: "center" });
  var field = bad.querySelector("input, select, textarea");
  if (field) { field.focus({ preventScroll: true }); }
})();
