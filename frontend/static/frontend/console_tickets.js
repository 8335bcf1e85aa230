// Console ticket screens: "select all" for bulk actions, the internal-note look of
// the reply box, and the live-connection indicator of the ticket page. No user
// data is ever written as HTML here: htmx swaps server-rendered, escaped fragments.
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.matches && box.matches("input[data-select-all]")) {
      var form = box.closest("form");
      form.querySelectorAll("input[type=checkbox][name='" + box.dataset.selectAll + "']").forEach(function (item) {
        item.checked = box.checked;
      });
    }
    if (box.matches && box.matches("#reply-form input[name=internal]")) {
      markNote(box.closest("form"));
    }
  });
  function markNote(form) {
    if (!form) return;
    var internal = form.querySelector("input[name=internal]");
    var on = !!(internal && internal.checked);
    form.classList.toggle("is-note", on);
    var hint = form.querySelector("[data-note-hint]");
    if (hint) hint.hidden = !on;
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var form = document.getElementById("reply-form");
    markNote(form);
    // After sending, the agent keeps typing where they were: focus the fresh reply box.
    if (form && event.detail.elt && event.detail.elt.id === "reply-form") {
      var area = form.querySelector("textarea");
      if (area) area.focus();
    }
  });
  // Ticket replies are often several paragraphs: Enter is a new line, Ctrl/Cmd+Enter sends.
  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && area.matches && area.matches("#reply-form textarea")) {
      event.preventDefault();
      area.form.requestSubmit();
    }
  });
  // The socket pushes each change, but this page may already show it (the
  // answer to its own form): a push not newer than the header's seq would
  // only reset what the agent is choosing in the controls.
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var pushed = /id="ticket-header"[^>]*data-seq="(\d+)"/.exec(event.detail.message || "");
    var header = document.getElementById("ticket-header");
    if (!pushed || !header) return;
    if (Number(pushed[1]) <= Number(header.getAttribute("data-seq") || 0)) event.preventDefault();
  });
  // A row pushed by the list's socket replaces the old one: keep its selection.
  var selected = {};
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var row = event.detail.target;
    if (!row || !row.id || row.id.indexOf("row-") !== 0) return;
    var box = row.querySelector("input[name=tickets]");
    selected[row.id] = !!(box && box.checked);
  });
  // A push replaces the controls' fields too: what the agent changed there and
  // has not saved yet must survive it (else the Update sends the old value).
  var chosen = null;
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var fields = event.detail.target;
    if (!fields || fields.id !== "ticket-controls-fields") return;
    chosen = {};
    fields.querySelectorAll("select, input:not([type=hidden]), textarea").forEach(function (el) {
      var changed = el.tagName === "SELECT"
        ? Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; })
        : el.value !== el.defaultValue;
      if (el.name && changed) chosen[el.name] = el.value;
    });
  });
  var flashTimer = null;
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var fields = document.getElementById("ticket-controls-fields");
    if (chosen && fields) {
      Object.keys(chosen).forEach(function (name) {
        var el = fields.querySelector("[name='" + CSS.escape(name) + "']");
        if (el) el.value = chosen[name];
      });
    }
    chosen = null;
    // "Saved." is news for a moment, not a state: it fades after a few seconds.
    if (event.detail.target && event.detail.target.id === "ticket-flash") {
      clearTimeout(flashTimer);
      flashTimer = setTimeout(function () {
        var flash = document.getElementById("ticket-flash");
        if (flash) flash.textContent = "";
      }, 4000);
    }
    Object.keys(selected).forEach(function (id) {
      var box = document.querySelector("#" + CSS.escape(id) + " input[name=tickets]");
      if (box) box.checked = selected[id];
    });
    selected = {};
  });
  // Files on the reply form: the server checks type and size; the page says so before
  // sending a file that cannot pass, and shows the upload's progress.
  function uploadError(form, text) {
    var node = form.querySelector("[data-upload-error]");
    if (!node) return;
    node.textContent = text || "";
    node.hidden = !text;
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input.matches && input.matches("#reply-form input[type=file]"))) return;
    var form = input.form;
    loadStrings();
    var maxBytes = Number(form.dataset.maxBytes || 0);
    var maxFiles = Number(form.dataset.maxFiles || 0);
    var files = Array.prototype.slice.call(input.files || []);
    var tooBig = files.filter(function (f) { return maxBytes && f.size > maxBytes; });
    var text = "";
    if (maxFiles && files.length > maxFiles) text = (strings.tooManyFiles || "Too many files.");
    else if (tooBig.length) text = (strings.fileTooLarge || "Too large: %(name)s").replace("%(name)s", tooBig.map(function (f) { return f.name; }).join(", "));
    uploadError(form, text);
    if (text) input.value = "";
  });
  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = event.target;
    if (!form || form.id !== "reply-form" || !event.detail.lengthComputable) return;
    var bar = form.querySelector(".tk-upload-progress");
    if (!bar || !form.querySelector("input[type=file]").files.length) return;
    bar.hidden = false;
    bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (!form || form.id !== "reply-form") return;
    var bar = form.querySelector(".tk-upload-progress");
    if (bar) bar.hidden = true;
    if (event.detail.failed && !event.detail.xhr.status) {
      loadStrings();
      uploadError(form, strings.uploadFailed || "The upload failed.");
    }
  });
  function live(text, offline) {
    var indicator = document.querySelector("[data-live-indicator]");
    if (!indicator) return;
    indicator.textContent = text;
    indicator.classList.toggle("is-offline", offline);
  }
  var strings = {};
  function loadStrings() {
    var node = document.getElementById("console-tickets-strings");
    if (node) { try { strings = JSON.parse(node.textContent); } catch (e) { strings = {}; } }
  }
  document.addEventListener("htmx:wsOpen", function () { loadStrings(); live(strings.live || "Live", false); });
  document.addEventListener("htmx:wsClose", function () { loadStrings(); live(strings.reconnecting || "Reconnecting…", true); });
  // A colleague linked the ticket to a contact: the pushed header names it, and the
  // "Customer" card (not pushed: it is the costly part) reloads itself (hx-trigger).
  document.addEventListener("htmx:oobAfterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "ticket-header") return;
    var header = document.getElementById("ticket-header");
    var card = document.getElementById("ticket-crm");
    if (header && card && window.htmx && (card.getAttribute("data-contact") || "") !== (header.getAttribute("data-contact") || "")) {
      window.htmx.trigger(document.body, "contact-changed");
    }
  });
})();
