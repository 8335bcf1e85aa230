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
