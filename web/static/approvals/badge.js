// The navigation's "My approvals" badge: how many steps wait for the signed-in person.
(function () {
  var badge = document.querySelector("[data-approvals-count]");
  if (!badge || !window.fetch) { return; }
  fetch("/approvals/count", { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : { count: 0 }; })
    .then(function (data) {
      if (data.count > 0) { badge.textContent = String(data.count); badge.hidden = false; }
    })
    .catch(function () { /* the badge is a convenience; the page works without it */ });
})();
