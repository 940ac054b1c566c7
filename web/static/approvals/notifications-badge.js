// The navigation's "Notifications" badge: how many of the signed-in person's notifications are unread
// (pages outside the approvals domain do not compute it on the server).
(function () {
  var badge = document.querySelector("[data-notifications-count]");
  if (!badge || !window.fetch) { return; }
  fetch("/notifications/count", { credentials: "same-origin", headers: { "Accept": "application/json" } })
    .then(function (r) { return r.ok ? r.json() : { count: 0 }; })
    .then(function (data) {
      if (data.count > 0) { badge.textContent = String(data.count); badge.hidden = false; }
    })
    .catch(function () { /* the badge is a convenience; the page works without it */ });
})();
