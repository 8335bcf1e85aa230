// The console's KB panel: "Insert link" / "Insert answer" put the article's
// link or answer into the reply box at the cursor. DOM APIs only: the text
// comes from a data attribute and goes into a textarea's value, never into HTML.
(function () {
  "use strict";
  if (window.chatportalKbPanel) return; // the panel may be included more than once
  window.chatportalKbPanel = true;

  function insert(textarea, text) {
    var start = textarea.selectionStart == null ? textarea.value.length : textarea.selectionStart;
    var end = textarea.selectionEnd == null ? start : textarea.selectionEnd;
    var before = textarea.value.slice(0, start);
    var spaced = (before && !/\s$/.test(before) ? " " : "") + text;
    textarea.setRangeText(spaced, start, end, "end");
    // Let the reply box's own code (draft saving, typing, autosize) see the change.
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-kb-insert]");
    if (!button) return;
    var panel = button.closest("[data-kb-panel]");
    var textarea = panel && document.getElementById(panel.dataset.kbTarget);
    if (!textarea || textarea.disabled) return;
    insert(textarea, button.dataset.kbText || "");
  });
})();
