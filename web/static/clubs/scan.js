// The merchant's scanner at the counter: the camera (BarcodeDetector where the browser has it, the
// vendored jsQR otherwise) or a typed/pasted code. One read sends one check-in: the camera stops the
// moment it reads a code, the answer shows at the top of the page in large type (with a vibration and
// a short beep where the browser allows), and "Next customer" clears it and starts the camera again.
// A code the camera has sent is never sent again by the camera (the previous customer's phone still in
// view reads as nothing); a typed code is sent each time the button is pressed.
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  if (!root) return;
  var M = JSON.parse(document.getElementById("scan-messages").textContent);
  var form = document.getElementById("scan-form");
  var answer = document.getElementById("scan-answer");
  var result = document.getElementById("scan-result");
  var next = document.getElementById("scan-next");
  var video = document.getElementById("scan-video");
  var cameraButton = document.getElementById("scan-camera");
  var tokenField = document.getElementById("scan-token");
  var amountField = document.getElementById("scan-amount");
  var benefitField = document.getElementById("scan-benefit");
  var busy = false;
  var stream = null;          // the camera while it runs
  var session = 0;            // bumped by every start and stop: what a stopped camera still reports is dropped
  var cameraWanted = false;   // the camera was in use: "Next customer" starts it again
  var sentCodes = {};         // the codes the camera read and sent
  var audio = null;
  // Refusals that say nothing about the code itself: after one, the same code may be read again.
  var RETRY = {bad_amount: 1, benefit_not_offered: 1, quota_exhausted: 1, network: 1, error: 1, csrf_failed: 1,
               rate_limited: 1, not_authenticated: 1, forbidden: 1, not_a_merchant_operator: 1};

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
  // "1314.50" -> "1,314.50": amounts in yuan, as people read them.
  function grouped(amount) {
    var parts = String(amount).split(".");
    return parts[0].replace(/\B(?=(\d{3})+(?!\d))/g, ",") + (parts.length > 1 ? "." + parts[1] : "");
  }
  // Why a scan was refused, in the reader's words (never the server's English).
  function refusal(body, status) {
    var reason = body && (body.reason || (body.error && body.error.code)) || "";
    if (reason === "validation_failed" && body.error && body.error.field === "token") reason = "malformed";
    if (reason === "validation_failed" && body.error && /^amount/.test(body.error.field || "")) reason = "bad_amount";
    if (!M[reason]) {
      reason = status === 401 ? "not_authenticated" : status === 403 ? "forbidden" : status === 429 ? "rate_limited"
        : (reason === "network" ? "network" : "error");
    }
    return {reason: reason, text: M[reason]};
  }

  function ensureAudio() {  // made during a tap, so that the browser lets it sound afterwards
    if (audio) return;
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    try { audio = new Context(); } catch (err) { audio = null; }
  }
  function beep(ok) {
    if (!audio) return;
    try {
      if (audio.state === "suspended" && audio.resume) audio.resume().catch(function () {});
      var osc = audio.createOscillator(), gain = audio.createGain(), now = audio.currentTime;
      var length = ok ? 0.15 : 0.45;
      osc.type = ok ? "sine" : "square";
      osc.frequency.value = ok ? 1320 : 220;
      gain.gain.setValueAtTime(0.0001, now);
      gain.gain.exponentialRampToValueAtTime(0.25, now + 0.01);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + length);
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start(now);
      osc.stop(now + length + 0.02);
    } catch (err) { /* no sound: the colour and the words say it all the same */ }
  }
  function vibrate(ok) {
    if (typeof navigator.vibrate !== "function") return;
    // Browsers refuse (and complain) without a tap on the page first.
    if (navigator.userActivation && !navigator.userActivation.hasBeenActive) return;
    try { navigator.vibrate(ok ? 150 : [100, 80, 100, 80, 100]); } catch (err) { /* not here */ }
  }

  function addToday(m, d) {
    var list = document.getElementById("scan-today");
    var none = document.getElementById("scan-none");
    if (none) none.remove();
    var li = document.createElement("li");
    li.appendChild(text("span", m.display_name + " · " + m.card_no, "row-main"));
    li.appendChild(text("span", tenantTime(new Date()) + (d && d.amount ? " · −" + grouped(d.amount.amount) : ""),
                        "row-meta"));
    list.insertBefore(li, list.firstChild);
  }
  // The tenant's wall clock, as the server renders the rows ("YYYY-MM-DD HH:MM"): the Swedish locale
  // happens to print ISO order.
  function tenantTime(when) {
    var zone = root.getAttribute("data-timezone") || undefined;
    return when.toLocaleString("sv-SE", {timeZone: zone, hour12: false}).slice(0, 16);
  }

  function show(ok, body, status) {
    result.textContent = "";
    result.className = "scan-result " + (ok ? "ok" : "no");
    result.setAttribute("data-accepted", ok ? "true" : "false");
    result.appendChild(text("span", ok ? M.accepted : M.refused, "big"));
    if (!ok) {
      var why = refusal(body, status);
      result.setAttribute("data-reason", why.reason);
      result.appendChild(text("div", why.text, "scan-reason"));
    } else {
      result.removeAttribute("data-reason");
      var m = body.member, d = body.discount;
      result.appendChild(text("div", m.display_name + " · " + m.card_no, "scan-who"));
      // A phrase and its figure never part at the end of a line ("Valid until 2027-" / "11-30").
      var valid = text("div", m.plan + " · ");
      valid.appendChild(text("span", M.valid_until + " " + (m.valid_until || "").slice(0, 10), "scan-keep"));
      result.appendChild(valid);
      if (body.static) result.appendChild(text("div", M.static));
      if (body.card_status === "in_grace") result.appendChild(text("div", M.in_grace, "scan-warn"));
      if (d) {
        if (d.description) result.appendChild(text("div", M.discount + ": " + d.description, "scan-offer"));
        var money = [];
        if (d.amount) money.push("−" + grouped(d.amount.amount));
        if (d.payable) money.push(M.payable + " " + grouped(d.payable.amount));
        if (money.length) {
          var line = text("div", "", "scan-money");
          money.forEach(function (part, i) {
            if (i) line.appendChild(document.createTextNode(" · "));
            line.appendChild(text("span", part, "scan-keep"));
          });
          result.appendChild(line);
        }
        if (d.remaining !== null && d.remaining !== undefined) {
          result.appendChild(text("div", d.remaining + " " + M.left));
        }
      }
      addToday(m, d);
    }
    answer.hidden = false;
    result.hidden = false;
    window.scrollTo(0, 0);
    try { result.focus({preventScroll: true}); } catch (err) { result.focus(); }
    vibrate(ok);
    beep(ok);
    return ok ? "" : result.getAttribute("data-reason");
  }
  function clearAnswer() {
    answer.hidden = true;
    result.hidden = true;
    result.textContent = "";
    result.className = "scan-result";
    result.removeAttribute("data-accepted");
    result.removeAttribute("data-reason");
  }

  function submit(token) {
    token = (token || "").trim();
    if (busy || !token) return;
    busy = true;
    root.setAttribute("data-busy", "true");
    var amount = amountField.value.trim();
    var payload = {token: token, benefit: benefitField.value || null, amount: amount || null,
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
      return r.json().catch(function () { return {}; }).then(function (body) {
        return show(r.status === 201 && body.accepted === true, body, r.status);
      });
    }).catch(function () { return show(false, {reason: "network"}, 0); })
      .then(function (reason) { if (RETRY[reason]) delete sentCodes[token]; })
      .then(release, release);
    function release() { busy = false; root.removeAttribute("data-busy"); }
  }

  // A code the camera read: this customer's unless the camera sent it already. Stops the camera first.
  function take(value) {
    value = (value || "").trim();
    if (!value || sentCodes[value] || busy) return false;
    sentCodes[value] = true;
    stopCamera();
    submit(value);  // (not put in the typed-code box: a tap on "Check in" would send it again)
    return true;
  }

  function stopCamera() {
    session++;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.pause();
    video.srcObject = null;
    video.hidden = true;
    cameraButton.hidden = false;
    root.setAttribute("data-camera", "off");
  }
  function startCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(false, {reason: "no_camera"}, 0);
      return;
    }
    stopCamera();
    cameraWanted = true;
    var mine = session;
    root.setAttribute("data-camera", "starting");
    cameraButton.hidden = true;
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (s) {
      if (mine !== session) { s.getTracks().forEach(function (track) { track.stop(); }); return; }
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      var playing = video.play();
      if (playing && playing.catch) playing.catch(function () {});
      root.setAttribute("data-camera", "on");
      watch(mine);
    }).catch(function () {
      if (mine !== session) return;
      stopCamera();
      show(false, {reason: "no_camera"}, 0);
    });
  }
  function watch(mine) {
    var detector = null;
    if ("BarcodeDetector" in window) {
      try { detector = new window.BarcodeDetector({formats: ["qr_code"]}); } catch (err) { detector = null; }
    }
    var canvas = document.createElement("canvas");
    var ctx = canvas.getContext("2d", {willReadFrequently: true});
    function later() { if (mine === session) setTimeout(tick, 200); }
    function tick() {
      if (mine !== session) return;
      if (video.readyState < 2 || !video.videoWidth) { later(); return; }
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (mine !== session || !(codes.length && take(codes[0].rawValue))) later();
        }).catch(later);
        return;
      }
      if (window.jsQR) {
        // jsQR's time grows with the pixels: a phone's 1080p frame is read at most 640 wide
        var scale = Math.min(1, 640 / Math.max(video.videoWidth, video.videoHeight));
        canvas.width = Math.round(video.videoWidth * scale);
        canvas.height = Math.round(video.videoHeight * scale);
        ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
        var img = ctx.getImageData(0, 0, canvas.width, canvas.height);
        var code = window.jsQR(img.data, img.width, img.height, {inversionAttempts: "dontInvert"});
        if (code && code.data && take(code.data)) return;
      }
      later();
    }
    tick();
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    ensureAudio();
    if (stream) stopCamera();
    submit(tokenField.value);
  });
  cameraButton.addEventListener("click", function () {
    ensureAudio();
    clearAnswer();
    startCamera();
  });
  next.addEventListener("click", function () {
    ensureAudio();
    clearAnswer();
    tokenField.value = "";
    amountField.value = "";
    if (cameraWanted) startCamera();
    else amountField.focus();
  });
  root.setAttribute("data-camera", "off");
})();
