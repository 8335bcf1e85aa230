/* The viewer's language switch and time zone (frontend/views_viewer.py).
   - A select marked data-autosubmit sends its form when changed.
   - With data-report-zone-url, the browser's IANA zone is posted once (the
     server has none for this viewer yet); the page is then shown again in
     that zone unless the viewer has already started typing. */
(function () {
  "use strict";
  var me = document.currentScript;

  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select || !select.matches || !select.matches("select[data-autosubmit]")) return;
    if (select.form.requestSubmit) select.form.requestSubmit();
    else select.form.submit();
  });

  var url = me && me.dataset.reportZoneUrl;
  if (!url || !window.fetch || !window.Intl) return;
  var zone;
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  } catch (e) {
    return;
  }
  if (!zone) return;
  fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      "X-CSRFToken": me.dataset.csrf || "",
    },
    body: new URLSearchParams({ time_zone: zone }).toString(),
  })
    .then(function (response) {
      if (!response.ok) return;
      var typing = document.activeElement && /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
      if (zone !== "UTC" && !typing && document.querySelector("time[datetime]")) window.location.reload();
    })
    .catch(function () {});
})();
