/* The portal's ticket list: a ticket opened elsewhere (by phone, by an agent) joins the list live.
 *
 * The socket sends each changed ticket's row as an htmx out-of-band swap by
 * its id; a row the page does not show yet has no target, so htmx reports
 * it (`htmx:oobErrorNoTarget`) and it is added here at the top. The row is
 * the server's own rendering (auto-escaped); nothing is built from strings.
 */
(function () {
  "use strict";
  document.body.addEventListener("htmx:oobErrorNoTarget", function (ev) {
    var row = ev.detail && ev.detail.content;
    if (!row || row.tagName !== "TR" || !/^ticket-T-\d+$/.test(row.id || "")) return;
    if (document.getElementById(row.id)) return;
    var rows = document.getElementById("my-tickets-rows");
    if (!rows) {
      // The first ticket: the page said "no tickets yet"; show the table.
      window.location.reload();
      return;
    }
    row.removeAttribute("hx-swap-oob");
    rows.insertBefore(row, rows.firstChild);
  });
})();
