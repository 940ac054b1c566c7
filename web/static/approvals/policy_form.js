// The approval policy form without page loads: its row buttons (add or remove a rule, a step, an
// approver) and the picture of the amount bands, redrawn as one types. Each posts the form as it
// stands to the same address the plain form posts to and takes the part it needs from the page
// answered: the server draws everything, this file only swaps it in. Without JavaScript the same
// buttons post the form and the page comes back redrawn.
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser || !window.URLSearchParams || !window.FormData) { return; }

  function form() { return document.getElementById("policy-form"); }

  function post(op) {
    var f = form();
    var body = new URLSearchParams(new FormData(f));
    body.set("op", op);
    return fetch(f.getAttribute("action"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "text/html", "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      if (!r.ok) { throw new Error("status " + r.status); }
      return r.text();
    }).then(function (html) { return new DOMParser().parseFromString(html, "text/html"); });
  }

  var busy = false;
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("#policy-form button[name=op]") : null;
    if (!button || button.value === "save" || button.value === "check" || busy) { return; }
    ev.preventDefault();
    busy = true;
    var y = window.scrollY;
    post(button.value).then(function (doc) {
      var fresh = doc.getElementById("policy-form");
      if (fresh) {
        form().replaceWith(document.importNode(fresh, true));
        window.scrollTo(0, y);
      }
    }).catch(function () {
      form().requestSubmit ? form().requestSubmit(button) : form().submit();  // fall back to a plain post
    }).then(function () { busy = false; });
  });

  var timer = null;
  var asked = 0;
  function redrawBands() {
    var mine = ++asked;
    post("bands").then(function (doc) {
      var fresh = doc.getElementById("bands");
      var here = document.getElementById("bands");
      if (fresh && here && mine === asked) {
        here.replaceWith(document.importNode(fresh, true));
      }
    }).catch(function () { /* the picture is redrawn on Check and Save anyway */ });
  }
  function changed(ev) {
    var t = ev.target;
    if (!t.name || !form() || !form().contains(t)) { return; }
    if (!/^rules\[\d+\]\.(lower|lower_kind|upper|upper_kind|category|in_plan|org_unit)$/.test(t.name) &&
        t.name !== "categories") { return; }
    clearTimeout(timer);
    timer = setTimeout(redrawBands, 400);
  }
  document.addEventListener("input", changed);
  document.addEventListener("change", changed);
})();
