// The customer's ticket list, live: a ticket that just became theirs (opened for
// them, or linked to them by an agent) arrives as a row this page does not have
// yet. htmx finds no element to swap it into, so it goes on top of the list.
// The row is the server's escaped fragment; nothing here builds HTML.
(function () {
  "use strict";
  document.body.addEventListener("htmx:oobErrorNoTarget", function (event) {
    var row = event.detail && event.detail.content;
    if (!row || row.tagName !== "TR" || !/^ticket-T-\d+$/.test(row.id || "")) return;
    if (document.getElementById(row.id)) return;
    var rows = document.getElementById("my-tickets-rows");
    if (!rows) {
      // Their first ticket: the page has no table yet; the reloaded page has one.
      window.location.reload();
      return;
    }
    row.removeAttribute("hx-swap-oob");
    rows.insertBefore(row, rows.firstChild);
    if (window.htmx) window.htmx.process(row);
  });
})();

// A ticket's page: the socket swaps the whole ticket section, so the new
// replies from support are told to screen readers through the page's own
// status region (#portal-announcer), which outlives the swaps. Only the text
// of the server's escaped fragment is read; nothing here builds HTML.
(function () {
  "use strict";
  var announcer = document.getElementById("portal-announcer");
  if (!announcer || !window.MutationObserver) return;
  var seen = {};
  function fresh() {
    var found = [];
    var items = document.querySelectorAll(".thread li.from-support[data-seq]");
    for (var i = 0; i < items.length; i++) {
      var seq = items[i].getAttribute("data-seq");
      if (!seen[seq]) {
        seen[seq] = true;
        found.push(items[i]);
      }
    }
    return found;
  }
  fresh();
  var pending = null;
  new MutationObserver(function () {
    if (pending) return;
    pending = window.setTimeout(function () {
      pending = null;
      var added = fresh();
      if (!added.length) return;
      var last = added[added.length - 1];
      var author = last.querySelector(".author");
      var body = last.querySelector(".body");
      announcer.textContent =
        (announcer.getAttribute("data-prefix") || "New reply from") + " " +
        (author ? author.textContent : "") + ": " + (body ? body.textContent : "");
    }, 50);
  }).observe(document.querySelector(".portal-page") || document.body, {
    childList: true,
    subtree: true,
  });
})();
