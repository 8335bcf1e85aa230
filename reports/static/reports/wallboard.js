// The wall-board says whether it is live: a TV across the room must not show
// stale numbers without saying so. htmx's ws extension reconnects by itself.
(function () {
  "use strict";
  function mark(live) {
    var status = document.getElementById("wb-live");
    document.body.dataset.live = live ? "true" : "false";
    if (status) {
      status.textContent = live ? status.dataset.live : status.dataset.offline;
    }
  }
  document.addEventListener("htmx:wsOpen", function () { mark(true); });
  document.addEventListener("htmx:wsClose", function () { mark(false); });
  document.addEventListener("htmx:wsError", function () { mark(false); });
})();
