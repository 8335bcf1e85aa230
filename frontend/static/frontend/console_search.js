// The console header's search: "/" or Ctrl+K focuses it (not while typing
// elsewhere), htmx fills the listbox as the agent types, the arrow keys move
// through the results (aria-activedescendant), Enter opens one, Escape closes.
(function () {
  "use strict";

  function isTyping(target) {
    if (!target || !(target instanceof Element)) return false;
    if (target.isContentEditable) return true;
    return target.closest("input, textarea, select, [contenteditable='true']") !== null;
  }

  function setup(form) {
    const input = form.querySelector("input[role='combobox']");
    const results = form.querySelector(".console-search-results");
    if (!input || !results) return;
    let active = -1;

    function options() {
      return Array.from(results.querySelectorAll("[role='option']"));
    }

    function setOpen(open) {
      input.setAttribute("aria-expanded", open ? "true" : "false");
      results.hidden = !open;
    }

    function highlight(index) {
      const items = options();
      items.forEach(function (item, i) {
        item.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index >= 0 && items[index]) {
        input.setAttribute("aria-activedescendant", items[index].id);
        items[index].scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    results.addEventListener("htmx:afterSwap", function () {
      const hasContent = results.children.length > 0;
      setOpen(hasContent && input.value.trim().length > 0);
      highlight(options().length > 0 ? 0 : -1);
    });
    input.addEventListener("keydown", function (event) {
      const items = options();
      if (event.key === "ArrowDown" && items.length) {
        event.preventDefault();
        setOpen(true);
        highlight((active + 1) % items.length);
      } else if (event.key === "ArrowUp" && items.length) {
        event.preventDefault();
        highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (event.key === "Enter") {
        const item = items[active];
        if (item && item.dataset.href && input.getAttribute("aria-expanded") === "true") {
          event.preventDefault();
          window.location.assign(item.dataset.href);
        }
      } else if (event.key === "Escape") {
        // First Escape closes the list and keeps the query; a second one
        // (list closed) leaves the search box, clearing it as search inputs do.
        if (input.getAttribute("aria-expanded") === "true") event.preventDefault();
        setOpen(false);
        highlight(-1);
        input.blur();
      }
    });

    // Options hold no link (a control inside a control); a click opens the option's page.
    results.addEventListener("click", function (event) {
      const item = event.target.closest("[role='option'][data-href]");
      if (item) window.location.assign(item.dataset.href);
    });

    results.addEventListener("mousemove", function (event) {
      const item = event.target.closest("[role='option']");
      if (item) highlight(options().indexOf(item));
    });

    document.addEventListener("click", function (event) {
      if (!form.contains(event.target)) setOpen(false);
    });
    input.addEventListener("focus", function () {
      if (results.children.length > 0 && input.value.trim()) setOpen(true);
    });

    document.addEventListener("keydown", function (event) {
      const slash = event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey;
      const ctrlK = (event.ctrlKey || event.metaKey) && (event.key === "k" || event.key === "K");
      if (!slash && !ctrlK) return;
      if (slash && isTyping(event.target)) return;
      if (ctrlK && isTyping(event.target) && event.target !== input) return;
      event.preventDefault();
      input.focus();
      input.select();
    });

    setOpen(false);
  }

  function init() {
    document.querySelectorAll("[data-console-search]").forEach(setup);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
