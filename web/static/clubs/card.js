// The member card's QR: fetch a fresh token shortly before the shown one expires.
(function () {
  "use strict";
  var EARLY_MS = 10000;
  function schedule(fig) {
    var expires = Date.parse(fig.getAttribute("data-expires-at"));
    var wait = Math.max(1000, expires - Date.now() - EARLY_MS);
    tick(fig, expires);
    setTimeout(function () { refresh(fig); }, wait);
  }
  function tick(fig, expires) {
    var label = fig.querySelector("[data-testid=qr-countdown]");
    if (!label) return;
    clearInterval(fig._timer);
    fig._timer = setInterval(function () {
      var s = Math.max(0, Math.round((expires - Date.now()) / 1000));
      label.textContent = s + "s";
    }, 1000);
  }
  // The new code's SVG, parsed as XML (inert) rather than assigned as HTML.
  function showSvg(holder, text) {
    var doc = new DOMParser().parseFromString(text, "image/svg+xml");
    var svg = doc.documentElement;
    if (!svg || svg.localName !== "svg" || doc.getElementsByTagName("parsererror").length) { return; }
    holder.replaceChildren(document.importNode(svg, true));
  }
  function refresh(fig) {
    fetch(fig.getAttribute("data-qr-url"), {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        showSvg(fig.querySelector(".club-qr-svg"), data.svg);
        fig.querySelector("[data-testid=qr-token]").value = data.token;
        fig.setAttribute("data-expires-at", data.expires_at);
        schedule(fig);
      })
      .catch(function () { setTimeout(function () { refresh(fig); }, 5000); });
  }
  document.querySelectorAll("figure.club-qr").forEach(schedule);
})();
