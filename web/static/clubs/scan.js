// The merchant's scanner: the camera (BarcodeDetector where the browser has it, the vendored
// jsQR otherwise) or a typed/pasted code; posts to the check-in and shows a big green/red answer.
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) return;
  var M = JSON.parse(document.getElementById("scan-messages").textContent);
  var form = document.getElementById("scan-form");
  var result = document.getElementById("scan-result");
  var busy = false;

  function csrf() {
    var input = form.querySelector("input[name=_csrf_token]") || form.querySelector("input[type=hidden]");
    return input ? input.value : "";
  }
  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }
  function show(ok, body) {
    result.hidden = false;
    result.className = "scan-result " + (ok ? "ok" : "no");
    result.setAttribute("data-accepted", ok ? "true" : "false");
    result.innerHTML = "";
    result.appendChild(text("span", ok ? M.accepted : M.refused, "big"));
    if (!ok) {
      var reason = body && (body.reason || (body.error && body.error.code));
      result.setAttribute("data-reason", reason || "");
      result.appendChild(text("div", M[reason] || (body && body.error && body.error.message) || reason || "?"));
      return;
    }
    var m = body.member;
    result.appendChild(text("div", m.display_name + " · " + m.card_no));
    result.appendChild(text("div", m.plan));
    result.appendChild(text("div", M.valid_until + ": " + (m.valid_until || "").slice(0, 10)));
    if (body.static) result.appendChild(text("div", M.static));
    if (body.card_status === "in_grace") result.appendChild(text("div", M.in_grace));
    var d = body.discount;
    if (d) {
      var line = M.discount + ": " + (d.description || d.kind);
      if (d.amount) line += " −" + d.amount.amount;
      if (d.payable) line += " · " + M.payable + " " + d.payable.amount;
      if (d.remaining !== null && d.remaining !== undefined) line += " · " + d.remaining + " " + M.left;
      result.appendChild(text("div", line));
    }
    var list = document.getElementById("scan-today");
    var none = document.getElementById("scan-none");
    if (none) none.remove();
    var li = document.createElement("li");
    li.appendChild(text("span", m.display_name + " · " + m.card_no, "row-main"));
    li.appendChild(text("span", tenantTime(new Date()), "row-meta"));
    list.insertBefore(li, list.firstChild);
  }
  // The tenant's wall clock, as the server renders the rows above ("YYYY-MM-DD HH:MM"): the
  // Swedish locale happens to print ISO order.
  function tenantTime(when) {
    var zone = document.getElementById("scanner").getAttribute("data-timezone") || undefined;
    return when.toLocaleString("sv-SE", {timeZone: zone, hour12: false}).slice(0, 16);
  }
  function submit(token) {
    if (busy || !token) return;
    busy = true;
    var amount = document.getElementById("scan-amount").value.trim();
    var benefit = document.getElementById("scan-benefit").value;
    var payload = {token: token.trim(), benefit: benefit || null,
                   amount: amount ? {amount: amount, currency: root.getAttribute("data-currency")} : null,
                   idempotency_key: "scan-" + Date.now() + "-" + Math.random().toString(36).slice(2)};
    var send = function (attempt) {
      return fetch(root.getAttribute("data-endpoint"), {
        method: "POST", credentials: "same-origin",
        headers: {"Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf()},
        body: JSON.stringify(payload)
      }).catch(function (err) {  // a network failure: re-send the same scan (same idempotency key)
        if (attempt < 2) return send(attempt + 1);
        throw err;
      });
    };
    send(0).then(function (r) {
      return r.json().then(function (body) { show(r.status === 201 && body.accepted, body); });
    }).catch(function () { show(false, {reason: "network"}); })
      .finally(function () { busy = false; });
  }
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    submit(document.getElementById("scan-token").value);
  });

  var video = document.getElementById("scan-video");
  var lastText = "", lastAt = 0;
  function found(value) {
    var now = Date.now();
    if (value === lastText && now - lastAt < 5000) return;
    lastText = value; lastAt = now;
    document.getElementById("scan-token").value = value;
    submit(value);
  }
  document.getElementById("scan-camera").addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { show(false, {reason: "no_camera"}); return; }
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}}).then(function (stream) {
      video.hidden = false;
      video.srcObject = stream;
      video.play();
      var detector = ("BarcodeDetector" in window) ? new window.BarcodeDetector({formats: ["qr_code"]}) : null;
      var canvas = document.createElement("canvas");
      var ctx = canvas.getContext("2d", {willReadFrequently: true});
      function loop() {
        if (video.readyState >= 2) {
          if (detector) {
            detector.detect(video).then(function (codes) {
              if (codes.length) found(codes[0].rawValue);
            }).catch(function () {});
          } else if (window.jsQR) {
            canvas.width = video.videoWidth; canvas.height = video.videoHeight;
            ctx.drawImage(video, 0, 0);
            var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
            var code = window.jsQR(img.data, img.width, img.height, {inversionAttempts: "dontInvert"});
            if (code) found(code.data);
          }
        }
        setTimeout(loop, 250);
      }
      loop();
    }).catch(function () { show(false, {reason: "no_camera"}); });
  });
})();
