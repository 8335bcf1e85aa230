/*! Chatportal visitor widget. Protocol v1 (docs/protocol.md). Plain ES2019, no dependencies. */
(function () {
  "use strict";

  // ---- Where we come from -------------------------------------------------
  // The host page is someone else's: find our own tag, talk to the server
  // that served it, never to the page's origin.
  function findScript() {
    if (document.currentScript && document.currentScript.src) return document.currentScript;
    var tags = document.querySelectorAll("script[src]");
    for (var i = tags.length - 1; i >= 0; i--) {
      try {
        if (/\/widget\.js$/.test(new URL(tags[i].src, location.href).pathname)) return tags[i];
      } catch (e) { /* unparsable src: not ours */ }
    }
    return null;
  }

  var script = findScript();
  // window.Chatportal may be the host page's queue of early calls (an array), never a second copy of us.
  var early = window.Chatportal;
  if (!script || (early && !Array.isArray(early))) return;
  var SRC = new URL(script.src, location.href),
    ORIGIN = SRC.origin,
    WS_URL = (SRC.protocol === "https:" ? "wss:" : "ws:") + "//" + SRC.host + "/ws/widget/",
    data = script.dataset,
    MAX_BODY = 10000,
    PING_MS = 20000,
    PONG_TIMEOUT_MS = 10000,
    MAX_STORED_EVENTS = 200;

  // ---- Strings --------------------------------------------------------------
  // One positional table per locale, in the order of KEYS; "" falls back to English.
  var KEYS = (
    "open minimize title log message send end name email placeholder typing agent you system queued " +
    "assigned transferredDept transferredAgent closed newChat position wait offline offlineSend " +
    "reconnecting sending sent read failed ticket ticketLink rate rateN thanks hours articles left " +
    "unread leaveOffer leaveHint keep requeued attach suggested solved back search previous dept comment transcript"
  ).split(" ");
  var STRINGS = {
    en: [
      "Open chat", "Minimize chat", "Chat with us", "Conversation", "Message", "Send", "End chat",
      "Name (optional)", "E-mail (optional)", "Type a message…", "{name} is typing…", "Agent", "You",
      "Chatportal", "Waiting for the next agent ({dept}).", "{name} joined the chat.",
      "Transferred to {dept}.", "Transferred to {name}.", "Chat ended", "Start new chat",
      "You are number {n} in the queue.", "Estimated wait: about {m} min.",
      "We are offline right now. Leave a message and we will get back to you.", "Leave a message",
      "Reconnecting…", "Sending", "Sent", "Read", "Not sent", "Ticket {number} ({status})",
      "Follow it in the portal", "How was this chat?", "{n} of 5", "Thank you for your feedback.",
      "Opening hours: {hours}", "These articles may help:",
      "Your message is kept; we will reply as soon as we are back.", "{n} new messages",
      "Leave a message instead",
      "Your place is kept until you send; the message becomes a ticket.",
      "Keep my place",
      "Your agent was disconnected — you are back in the queue, nobody else will take your place.",
      "Attach file", "Suggested articles", "This solved my problem", "Back to chat", "Search help",
      "Previous conversations", "Department", "Comment (optional)", "Email me a transcript"
    ],
    ro: [
      "Deschideți chatul", "Minimizați chatul", "Discutați cu noi", "Conversație", "Mesaj", "Trimiteți",
      "Încheiați chatul", "Nume (opțional)", "E-mail (opțional)", "Scrieți un mesaj…", "{name} scrie…",
      "Operator", "Dumneavoastră", "", "Așteptați următorul operator ({dept}).",
      "{name} s-a alăturat conversației.", "Transferat către {dept}.", "Transferat către {name}.",
      "Chat încheiat", "Începeți un chat nou", "Sunteți numărul {n} la coadă.",
      "Timp estimat de așteptare: circa {m} min.",
      "Acum nu suntem disponibili. Lăsați un mesaj și vă vom răspunde.", "Lăsați un mesaj",
      "Se reconectează…", "Se trimite", "Trimis", "Citit", "Netrimis", "Tichet {number} ({status})",
      "Urmăriți-l în portal", "Cum a fost conversația?", "{n} din 5", "Vă mulțumim pentru părere.",
      "Program: {hours}", "Aceste articole vă pot ajuta:",
      "Mesajul a fost păstrat; vă răspundem imediat ce revenim.", "{n} mesaje noi",
      "Lăsați un mesaj în loc", "Locul vă rămâne până trimiteți; mesajul devine un tichet.",
      "Rămân la coadă", "Operatorul s-a deconectat — sunteți din nou la coadă, nimeni nu vă ia locul.",
      "Atașați un fișier", "Articole sugerate", "Asta mi-a rezolvat problema", "Înapoi la chat",
      "Căutați în ajutor", "Conversații anterioare", "Departament", "Comentariu (opțional)", "Trimiteți-mi conversația pe e-mail"
    ],
    ru: [
      "Открыть чат", "Свернуть чат", "Напишите нам", "Переписка", "Сообщение", "Отправить", "Завершить чат",
      "Имя (необязательно)", "E-mail (необязательно)", "Введите сообщение…", "{name} печатает…", "Оператор",
      "Вы", "", "Ожидайте свободного оператора ({dept}).", "{name} присоединился к чату.",
      "Передано в {dept}.", "Передано: {name}.", "Чат завершён", "Начать новый чат", "Вы {n}-й в очереди.",
      "Ожидание: около {m} мин.", "Сейчас мы не в сети. Оставьте сообщение, и мы ответим.",
      "Оставить сообщение", "Переподключение…", "Отправляется", "Отправлено", "Прочитано", "Не отправлено",
      "Обращение {number} ({status})", "Следить на портале", "Как прошёл чат?", "{n} из 5", "Спасибо за отзыв.",
      "Часы работы: {hours}", "Возможно, помогут статьи:",
      "Сообщение сохранено; ответим, как только вернёмся.", "Новых сообщений: {n}", "Оставить сообщение вместо ожидания",
      "Место сохранится до отправки; сообщение станет обращением.",
      "Остаться в очереди", "Оператор отключился — вы снова в очереди, ваше место никто не займёт.",
      "Прикрепить файл", "Рекомендуемые статьи", "Это решило мою проблему", "Назад к чату",
      "Поиск по справке", "Предыдущие разговоры", "Отдел", "Комментарий (необязательно)", "Прислать копию переписки на e-mail"
    ]
  };

  // The server sends one table (widget.js?lang=ro, or the browser's language);
  // the readable source has them all.
  function pickLocale() {
    var wanted = [data.locale].concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < wanted.length; i++) {
      var code = String(wanted[i] || "").toLowerCase().split(/[-_]/)[0];
      if (STRINGS[code]) return code;
    }
    return STRINGS.en ? "en" : Object.keys(STRINGS)[0];
  }
  var LOCALE = pickLocale();
  function t(key, vars) {
    var i = KEYS.indexOf(key);
    var text = STRINGS[LOCALE][i] || (STRINGS.en || [])[i] || key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars && vars[name] != null ? String(vars[name]) : ""));
  }

  // ---- Storage --------------------------------------------------------------
  // Namespaced per server origin: two Chatportal servers embedded on one site
  // must not share visitor tokens or transcripts.
  var PREFIX = "chatportal:" + ORIGIN + ":";
  var memoryStore = {};
  function load(key, fallback) {
    var raw;
    try { raw = window.localStorage.getItem(PREFIX + key); } catch (e) { raw = memoryStore[key]; }
    if (raw == null) return fallback;
    try { return JSON.parse(raw); } catch (e) { return fallback; }
  }
  function save(key, value) {
    var raw = JSON.stringify(value);
    try { window.localStorage.setItem(PREFIX + key, raw); } catch (e) { memoryStore[key] = raw; }
  }

  // state.conv: {id, state, lastSeq, events: [], agent} for the conversation on screen.
  var state = {
    token: load("token", null),
    conv: load("conv", null),
    pending: load("pending", []), // [{client_id, body, at}] sent but not acked, in order
    profile: load("profile", {}),
    sentProfile: null,
    online: true,
    open: false,
    unread: 0,
    rated: false,
    depts: {}, // slug -> name, from welcomes
    q: null, // the last queue frame of the conversation on screen
    // Leaving a message instead of waiting: 0 no, 1 the form is shown, 2 chosen (sent, then close).
    leave: load("leave", 0) === 2 ? 2 : 0,
    left: load("left", []) // conversations put away with "Start new chat"
  };

  function persistConv() {
    // Storage quotas are a few MB per site, shared with the host page: long
    // transcripts keep their newest part.
    var conv = state.conv;
    while (conv && conv.events.length > 1 && JSON.stringify(conv.events).length > 300000) {
      conv.events.splice(0, Math.ceil(conv.events.length / 4));
    }
    save("conv", conv);
  }
  function persistPending() { save("pending", state.pending); }

  function uuid() {
    // Not crypto.randomUUID: it exists only in secure contexts, and host pages may be plain http.
    // Each 0/1/8 of the template becomes a random hex digit; "4" and the 8..b of
    // the variant stay what RFC 4122 asks of a version 4 UUID.
    var random = crypto.getRandomValues(new Uint8Array(31)), i = 0;
    return "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) => (c ^ (random[i++] & (15 >> (c / 4)))).toString(16));
  }

  // ---- DOM helpers (text only: user data never goes through innerHTML) -------
  function el(tag, attrs, children, ns) {
    var node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    // A button inside our form would submit it unless told otherwise.
    if (tag === "button") node.type = "button";
    for (var name in attrs) {
      var value = attrs[name];
      if (value == null || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name.slice(0, 2) === "on") node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? "" : value);
    }
    // append() turns strings into text nodes: never parsed as markup.
    node.append(...(children || []).filter((child) => child));
    return node;
  }

  function safeUrl(value) {
    if (!isStr(value) || !value) return null;
    try {
      var url = new URL(value, ORIGIN);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) { return null; }
  }

  function link(href, text) {
    var url = safeUrl(href);
    if (!url) return text;
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer nofollow", text: text });
  }

  // Links as nodes (the rule of foundation/linkify.py).
  function linkified(s) {
    var p = [], at = 0, m, c, o, u, re = /https?:\/\/[0-9a-z][^\s<>"`]*/gi, n = (x) => u.split(x).length;
    while ((m = re.exec(s))) {
      u = m[0];
      while ((c = u.slice(-1)) && (".,;:!?'*".includes(c) || (o = "([{"[")]}".indexOf(c)]) && n(o) < n(c))) u = u.slice(0, -1);
      if (/[0-9a-z]/i.test(s.charAt(m.index - 1))) continue;
      p.push(s.slice(at, m.index), link(u, u));
      at = re.lastIndex = m.index + u.length;
    }
    p.push(s.slice(at));
    return el("span", {}, p);
  }

  function isNum(value) { return typeof value === "number"; }
  function isStr(value) { return typeof value === "string"; }

  function formatTime(iso) {
    var when = iso ? new Date(iso) : new Date();
    if (isNaN(when)) return "";
    return when.toLocaleTimeString(LOCALE, { hour: "2-digit", minute: "2-digit" });
  }

  // ---- Styles: everything lives inside the shadow root ----------------------
  var CSS = [
    ":host{all:initial!important;position:fixed!important;z-index:2147483000!important;right:20px!important;bottom:calc(20px + env(safe-area-inset-bottom))!important;display:block!important;",
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif!important;color:#1d2330!important;--accent:#2456d6}",
    "*{box-sizing:border-box;font:inherit}",
    "[hidden]{display:none!important}",
    "button{cursor:pointer;border:0;border-radius:6px;padding:7px 12px;background:var(--accent);color:#fff}",
    "button:disabled{opacity:.5;cursor:default}",
    ":focus-visible{outline:3px solid #8fb0ff;outline-offset:1px}",
    ".launcher{width:56px;height:56px;border-radius:50%;padding:0;box-shadow:0 4px 14px #0004;display:grid;place-items:center;position:relative;margin-left:auto}",
    ".launcher svg{width:26px;height:26px;fill:#fff}",
    ":host(.left){right:auto!important;left:20px!important}:host(.left) .launcher{margin-left:0}",
    ".wide{width:auto;border-radius:28px;padding:0 18px;grid-auto-flow:column;gap:8px}",
    ".badge{position:absolute;top:-4px;right:-4px;min-width:20px;height:20px;border-radius:10px;background:#d62424;color:#fff;font-size:12px;line-height:20px;text-align:center;padding:0 5px}",
    ".panel{width:min(360px,calc(100vw - 40px));height:min(540px,calc(100vh - 110px));background:#fff;border-radius:12px;box-shadow:0 8px 30px #0004;",
    "display:flex;flex-direction:column;overflow:hidden;margin-bottom:12px}",
    ".head{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--accent);color:#fff}",
    ".head h2{flex:1;margin:0;font-size:15px;font-weight:600}",
    ".head button{background:none;padding:4px 8px;font-size:18px;line-height:1}",
    ".status{padding:6px 12px;font-size:12px;background:#fff6d6;color:#5c4700}",
    ".log{flex:1;overflow-y:auto;padding:10px 12px;display:flex;flex-direction:column;gap:8px;background:#f6f7fb}",
    ".msg{max-width:85%;padding:7px 10px;border-radius:10px;background:#fff;border:1px solid #dfe3ec;align-self:flex-start;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg.own{align-self:flex-end;background:#e4ecff;border-color:#c8d6ff}",
    ".msg .who,.msg .meta{display:block;font-size:11px;color:#5b6577}.msg .who{font-weight:600}.msg .meta{text-align:right}",
    ".msg.failed{border-color:#d62424}",
    ".note{align-self:center;font-size:12px;color:#5b6577;text-align:center;white-space:pre-wrap}",
    ".note a,.msg a{color:var(--accent)}",
    ".thumb{display:block;max-width:100%;max-height:200px}",
    ".typing{padding:0 12px 2px;font-size:12px;color:#5b6577;min-height:18px;background:#f6f7fb}",
    ".form,.prechat,.ended{display:flex;flex-direction:column;gap:6px}.form,.ended{padding:8px 12px;border-top:1px solid #dfe3ec}",
    ".form input,.form textarea,.form select{width:100%;border:1px solid #c5cbd8;border-radius:6px;padding:6px 8px;background:#fff;color:#1d2330}",
    // 16 px or more: iOS Safari zooms into any smaller field it focuses.
    "input,textarea,select{font-size:16px!important}",
    ".link{background:none;color:var(--accent);text-decoration:underline}",
    ".history{flex:1;overflow-y:auto;padding:0 12px}.history ul{padding:0;list-style:none}",
    ".form textarea{resize:none;height:56px}",
    ".row{display:flex;gap:6px;justify-content:flex-end}",
    ".end,.alt{background:#5b6577}.row .end{margin-right:auto}",
    ".status button{background:none;color:var(--accent);padding:0 0 0 4px;text-decoration:underline}",
    ".ended{align-items:center}",
    ".stars{display:flex;gap:4px}.stars button{background:#eef1f7;color:#1d2330;padding:4px 8px}",
    ".reader{flex:1;display:flex;flex-direction:column}.reader iframe{flex:1;border:0;width:100%}.reader .row{padding:8px 12px}",
    ".help{padding:8px 12px 0;background:#f6f7fb}.help input{width:100%;border:1px solid #c5cbd8;border-radius:6px;padding:6px 8px}",
    ".kb{margin:4px 0;padding-left:18px}.kb button{background:none;color:var(--accent);padding:0;text-align:left;text-decoration:underline}.kb small{display:block;color:#5b6577}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%);white-space:nowrap}",
    // A phone: the open chat takes the whole screen (dvh: the visible part, without the browser's bars).
    "@media (max-width:480px){:host(.open){inset:0!important}",
    ":host(.open) .launcher{display:none}",
    ":host(.open) .panel{width:100%;height:100vh;height:100dvh;border-radius:0;margin:0;box-shadow:none;",
    "padding:env(safe-area-inset-top) 0 env(safe-area-inset-bottom)}}"
  ].join("");

  // ---- Build the UI -----------------------------------------------------------
  var host = el("div", { "data-chatportal": "widget" });
  // The host site's look: an accent colour (a CSS hex colour only) and a corner.
  if (/^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(data.color || "")) host.style.setProperty("--accent", data.color);
  if (data.position === "left") host.classList.add("left");
  var root = host.attachShadow({ mode: "open" });
  try {
    // A constructed sheet is not an inline <style>, so strict host CSPs allow it.
    if (!root.adoptedStyleSheets) throw 0;
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
    root.adoptedStyleSheets = [sheet];
  } catch (e) { root.append(el("style", { text: CSS })); }

  var ui = {};
  ui.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("log"), tabindex: "0" });
  ui.status = el("div", { class: "status", role: "status", hidden: true });
  // The queue place is a live region of its own; the offer to leave a message sits beside it.
  ui.queue = el("span", { role: "status" });
  ui.leave = el("button", { text: t("leaveOffer"), onclick: () => {
    state.leave = 1;
    state.askEmail = !profile().email;
    drawState();
    (state.askEmail ? ui.email : ui.text).focus();
  } });
  ui.wait = el("div", { class: "status", hidden: true }, [ui.queue, ui.leave]);
  ui.typing = el("div", { class: "typing", "aria-live": "polite" });
  ui.name = el("input", { autocomplete: "name", maxlength: "200", "aria-label": t("name"), placeholder: t("name") });
  ui.email = el("input", { type: "email", autocomplete: "email", maxlength: "254", "aria-label": t("email"), placeholder: t("email") });
  // "Email me a transcript": travels in the hello's profile, like the e-mail it goes to.
  ui.transcript = el("input", { type: "checkbox" });
  
  ui.prechat = el("div", { class: "prechat" }, [ui.name, ui.email, el("label", {}, [ui.transcript, " ", t("transcript")])]);
  // The departments the site lets the visitor choose from (data-departments="sales,support").
  var OFFERED = (data.departments || "").split(",").map((d) => d.trim()).filter((d) => /^[-\w]{1,50}$/.test(d)).slice(0, 10);
  if (OFFERED.length < 2) OFFERED = [];
  ui.deptSelect = el("select", { onchange: () => {
    save("dept", ui.deptSelect.value);
    // A new welcome for that department (online, wait), while no chat has started.
    if (ws && !cid()) reconnectNow();
  } }, OFFERED.map((d) => el("option", { value: d, text: d })));
  ui.deptSelect.value = [load("dept"), data.department].find((d) => OFFERED.includes(d)) || OFFERED[0];
  ui.dept = el("label", { hidden: true }, [t("dept"), ui.deptSelect]);
  ui.text = el("textarea", { "aria-label": t("message"), placeholder: t("placeholder"), maxlength: String(MAX_BODY), oninput: onInput, onkeydown: (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) submit(e);
  } });
  ui.send = el("button", { type: "submit", text: t("send") });
  ui.end = el("button", { class: "end", text: t("end"), disabled: true, onclick: endChat });
  ui.keep = el("button", { class: "alt", text: t("keep"), hidden: true, onclick: () => {
    state.leave = 0;
    drawState();
    ui.text.focus();
  } });
  ui.offlineText = el("span", { text: t("offline") });
  ui.offline = el("p", { class: "note", hidden: true }, [el("strong", { text: t("offlineSend") }), el("br"), ui.offlineText]);
  // Files go over HTTP with the visitor token; the socket brings the `attachment` event back.
  ui.file = el("input", { type: "file", hidden: true, onchange: upload });
  var SVG = "http://www.w3.org/2000/svg";
  // A paper clip drawn in SVG: an emoji shows as an empty box without an emoji font.
  ui.attach = el("button", { class: "alt", "aria-label": t("attach"), onclick: () => { ui.file.click(); } }, [
    el("svg", { viewBox: "0 0 24 24", width: 18, "aria-hidden": "true" }, [
      el("path", { d: "M16 7v9a4 4 0 0 1-8 0V6a3 3 0 0 1 6 0v10a1 1 0 0 1-2 0V8", fill: "none", stroke: "currentColor", "stroke-width": "2" }, null, SVG)
    ], SVG)
  ]);
  ui.form = el("form", { class: "form", novalidate: true, onsubmit: submit }, [ui.offline, ui.dept, ui.prechat, ui.text, ui.file, el("div", { class: "row" }, [ui.end, ui.keep, ui.attach, ui.send])]);
  ui.stars = el("div", { class: "stars", role: "group", "aria-label": t("rate"), onclick: rate });
  // The rating's optional comment goes with the score (plain text, at most 2,000 characters).
  ui.comment = el("textarea", { class: "comment", rows: "2", maxlength: "2000", "aria-label": t("comment"), placeholder: t("comment") });
  ui.rate = el("div", { class: "rating" }, [el("p", { class: "note", text: t("rate") }), ui.comment, ui.stars]);
  ui.newChat = el("button", { text: t("newChat"), onclick: newChat });
  ui.ended = el("div", { class: "ended", hidden: true }, [el("strong", { text: t("closed") }), ui.rate, ui.newChat]);
  ui.minimize = el("button", { "aria-label": t("minimize"), text: "–", onclick: minimize });
  // An article opens in a sandboxed frame of our own server: sanitized HTML, no scripts.
  ui.back = el("button", { class: "alt", text: t("back"), onclick: () => { showArticle(null); } });
  ui.solved = el("button", { text: t("solved"), onclick: solved });
  ui.reader = el("div", { class: "reader", hidden: true }, [el("div", { class: "row" }, [ui.back, ui.solved])]);
  // Before the first message, where the department offers it: search the public articles.
  ui.found = el("div", { "aria-live": "polite" });
  ui.help = el("div", { class: "help", hidden: true }, [
    el("input", { type: "search", "aria-label": t("search"), placeholder: t("search"), maxlength: "200", oninput: searchHelp }), ui.found
  ]);
  // An identified visitor's earlier conversations, read-only, in place of the log.
  ui.histButton = el("button", { class: "link", text: t("previous"), hidden: true, onclick: () => { send({ type: "history" }); } });
  ui.histList = el("ul", { "aria-label": t("previous") });
  ui.histBack = el("button", { class: "alt", text: t("back"), onclick: () => { showHistory(false); } });
  ui.history = el("div", { class: "history", hidden: true }, [ui.histList, el("div", { class: "row" }, [ui.histBack])]);
  ui.panel = el("section", { class: "panel", role: "dialog", "aria-label": t("title"), hidden: true }, [
    el("header", { class: "head" }, [el("h2", { text: t("title") }), ui.minimize]),
    ui.status, ui.wait, ui.histButton, ui.help, ui.log, ui.history, ui.reader, ui.typing, ui.form, ui.ended
  ]);
  ui.badge = el("span", { class: "badge", hidden: true, "aria-hidden": "true" });
  ui.unreadSr = el("span", { class: "sr" });
  ui.launcher = el("button", { class: data.launcherText ? "launcher wide" : "launcher", "aria-label": t("open"), "aria-expanded": "false", onclick: () => { setOpen(!state.open); } }, [
    el("svg", { viewBox: "0 0 24 24", "aria-hidden": "true" }, [
      el("path", { d: "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z" }, null, SVG)
    ], SVG),
    data.launcherText && el("span", { text: data.launcherText }),
    ui.badge, ui.unreadSr
  ]);
  root.append(ui.panel, ui.launcher);

  for (var score = 1; score <= 5; score++) {
    ui.stars.append(el("button", { "data-score": String(score), "aria-label": t("rateN", { n: score }), text: "★" + score }));
  }
  ui.name.value = data.name || state.profile.name || "";
  ui.email.value = data.email || state.profile.email || "";
  ui.transcript.checked = !!state.profile.transcript;

  // ---- Rendering -------------------------------------------------------------
  var rendered = {}; // client_id -> bubble, for own messages (pending or confirmed)

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function setTick(bubble, status) {
    bubble.classList.toggle("failed", status === "failed");
    var label = t(status);
    var tick = { sending: "⏱", sent: "✓", read: "✓✓", failed: "!" }[status] || "";
    bubble._meta.textContent = bubble._time + " " + tick;
    bubble._meta.title = label;
    bubble._status.textContent = label;
    bubble._state = status;
  }

  function bubble(who, body, at, own) {
    var meta = el("span", { class: "meta", "aria-hidden": own ? "true" : null });
    var status = el("span", { class: "sr" });
    var node = el("div", { class: own ? "msg own" : "msg" }, [el("span", { class: "who", text: who }), body.nodeType ? body : String(body), meta, status]);
    node._meta = meta;
    node._status = status;
    node._time = formatTime(at);
    meta.textContent = node._time;
    ui.log.append(node);
    return node;
  }

  function note(children) {
    ui.log.append(el("p", { class: "note" }, children));
    scrollDown();
  }

  function renderPending(item) {
    var node = bubble(t("you"), linkified(String(item.body)), item.at, true);
    setTick(node, "sending");
    rendered[item.client_id] = node;
    return node;
  }

  function markRead(seq) {
    Object.keys(rendered).forEach((id) => {
      var node = rendered[id];
      if (node._seq && node._seq <= seq && node._state !== "read") setTick(node, "read");
    });
    if (state.conv) state.conv.readSeq = Math.max(state.conv.readSeq || 0, seq);
  }

  // Draws one persisted event; state bookkeeping happens in acceptEvent.
  function renderEvent(ev) {
    var who;
    switch (ev.kind) {
      case "attachment":
      case "message": {
        var author = ev.author || {};
        var own = author.role === "visitor";
        if (own && ev.client_id && rendered[ev.client_id]) {
          var existing = rendered[ev.client_id];
          existing._seq = ev.seq;
          if (existing._state !== "read") setTick(existing, "sent");
          return;
        }
        who = own ? t("you") : author.name || (author.role === "system" ? t("system") : t("agent"));
        var node = bubble(who, ev.kind === "attachment" ? attachment(ev) : linkified(ev.body == null ? "" : String(ev.body)), ev.at, own);
        if (own) {
          node._seq = ev.seq;
          if (ev.client_id) rendered[ev.client_id] = node;
          setTick(node, state.conv && state.conv.readSeq >= ev.seq ? "read" : "sent");
        } else if (!state.open && !ev.replayed) {
          state.unread += 1;
          drawUnread();
        }
        return;
      }
      case "queued":
        // With a reason it is back in the queue, at its head (agent offline, offer unanswered).
        note([ev.reason ? t("requeued") : t("queued", { dept: deptName(ev.department) })]);
        return;
      case "assigned":
        note([t("assigned", { name: ev.agent && ev.agent.name || t("agent") })]);
        return;
      case "transferred": {
        var to = ev.to || {};
        note([to.agent ? t("transferredAgent", { name: to.agent.name || t("agent") })
          : t("transferredDept", { dept: deptName(to.department) })]);
        return;
      }
      case "closed":
        note([t("closed")]);
        return;
      case "ticket": {
        var label = t("ticket", { number: ev.number || "", status: ev.status || "" });
        // An identified visitor's frame carries a short-lived signed link that signs them in.
        var portal = safeUrl(ev.portal_login_url) ? ev.portal_login_url : ev.portal_url;
        note(safeUrl(portal) ? [label, " — ", link(portal, t("ticketLink"))] : [label]);
        return;
      }
      case "rated":
        // The visitor's own rating, as sent (text nodes: the comment is never HTML).
        note(ev.comment ? [t("rateN", { n: ev.score }), " — ", String(ev.comment)] : [t("rateN", { n: ev.score })]);
        return;
      // Kinds added by later protocol versions are skipped, not shown raw.
    }
  }

  // Files of the conversation on screen, always from our own server (the token goes nowhere else).
  function files(path, method, body) {
    return fetch(ORIGIN + "/api/v1/conversations/" + state.conv.id + "/attachments" + path, { method: method, body: body, headers: { Authorization: "Bearer " + state.token } })
      .then((r) => r.ok ? r : r.json().then((j) => { throw j.error.detail; }));
  }
  function upload() {
    var body = new FormData();
    body.append("file", ui.file.files[0]);
    ui.file.value = "";
    if (openId()) files("", "POST", body).catch((why) => { note([t("failed") + (isStr(why) ? ": " + why : "")]); });
  }
  // A file: its name, an image also its thumbnail; both via our token.
  function attachment(ev) {
    var go = (e) => { e.preventDefault(); download(ev); },
      a = el("a", { href: safeUrl(ev.url) || "#", text: String(ev.filename), onclick: go }),
      img = el("img", { class: "thumb", alt: "", onclick: go });
    if (!safeUrl(ev.thumbnail_url)) return a;
    blobOf(ev, "/thumbnail").then((b) => { img.src = URL.createObjectURL(b); }, () => img.remove());
    return el("span", {}, [img, a]);
  }
  function blobOf(ev, rest) {
    return files("/" + encodeURIComponent(String(ev.url).split("/").pop()) + rest).then((r) => r.blob());
  }
  function download(ev) {
    blobOf(ev, "").then((blob) => {
      // The blob URL lives until the page unloads: a few files per visit.
      el("a", { href: URL.createObjectURL(blob), download: ev.filename }).click();
    }, () => {});
  }

  // Events name departments by slug; the welcome told us the names it knows.
  function deptName(dept) {
    return isStr(dept) ? state.depts[dept] || dept : dept && dept.name || "";
  }

  function drawUnread() {
    ui.badge.hidden = !state.unread;
    ui.badge.textContent = state.unread;
    ui.unreadSr.textContent = state.unread ? t("unread", { n: state.unread }) : "";
  }

  function drawState() {
    var conv = state.conv,
      closed = !!(conv && conv.state === "closed"),
      hasConv = !!cid(),
      leaving = state.leave > 0 && !closed;
    ui.ended.hidden = !closed;
    ui.help.hidden = !state.kbSearch || hasConv || state.pending.length > 0 || !ui.reader.hidden;
    ui.form.hidden = closed;
    ui.end.disabled = !hasConv || closed;
    ui.attach.disabled = !openId();
    ui.end.hidden = !state.online && !hasConv;
    ui.keep.hidden = state.leave !== 1;
    // Pre-chat fields only before the first message, unless the host page told us who it is;
    // leaving a message asks only for the e-mail, and only when we have none.
    ui.prechat.hidden = leaving ? !state.askEmail : hasConv || state.pending.length > 0 || !!(data.name && data.email);
    ui.dept.hidden = !OFFERED.length || leaving || hasConv || state.pending.length > 0;
    ui.name.hidden = leaving;
    ui.offline.hidden = !leaving && (state.online || hasConv);
    ui.offlineText.textContent = leaving ? t("leaveHint") : t("offline") + (state.hours ? " " + t("hours", { hours: state.hours }) : "");
    // Only a chat an agent took part in is worth rating (not a message left offline or instead of waiting).
    ui.rate.hidden = state.rated || !closed || !conv.agent || !!conv.left;
    // Before the first message the department's estimate for a new chat; then
    // the live queue place, while the chat waits.
    var text = [];
    var q = state.q || { estimated_wait_s: state.wait };
    if (hasConv ? conv.state === "queued" : state.online) {
      if (isNum(q.position)) text.push(t("position", { n: q.position }));
      if (isNum(q.estimated_wait_s)) text.push(t("wait", { m: Math.max(1, Math.round(q.estimated_wait_s / 60)) }));
    }
    ui.queue.textContent = text.join(" ");
    ui.leave.hidden = leaving || !longWait(q.estimated_wait_s);
    ui.wait.hidden = !text.length && ui.leave.hidden;
  }


  // Long enough to offer a message instead: past the department's long_wait_s,
  // or unknown (null: nobody could answer) once the chat is queued; undefined
  // is "not told yet" (just transferred).
  function longWait(estimate) {
    var limit = state.longWait;
    var known = isNum(estimate);
    if (!isNum(limit) || estimate === undefined) return false;
    return cid() ? state.conv.state === "queued" && (!known || estimate > limit) : state.online && known && estimate > limit;
  }

  function redrawAll() {
    ui.log.textContent = "";
    rendered = {};
    // The site's greeting: text, never markup.
    if (data.greeting) note([data.greeting]);
    if (state.conv) {
      state.conv.events.forEach((ev) => { renderEvent(Object.assign({ replayed: true }, ev)); });
    }
    state.pending.forEach((item) => { if (!rendered[item.client_id]) renderPending(item); });
    drawState();
    scrollDown();
  }

  // ---- Conversation state ------------------------------------------------------
  // The conversation on screen: its id, that id while it is open, and whether a frame is about it.
  function cid() { return (state.conv && state.conv.id) || null; }
  function openId() { return cid() && state.conv.state !== "closed" ? state.conv.id : null; }
  function mine(frame) { return !!cid() && frame.conversation === state.conv.id; }

  function startConv(id) {
    state.conv = { id: id, state: "queued", lastSeq: 0, readSeq: 0, events: [] };
    state.rated = false;
    state.q = null;
    persistConv();
  }

  // Returns true when the frame belongs to the conversation on screen.
  function adoptConv(id) {
    if (!isStr(id) || !id) return false;
    if (cid() === id) return true;
    // Late frames of a chat the visitor already left (its `rated` event, say).
    if (state.left.indexOf(id) >= 0) return false;
    // A message resent after the chat ended elsewhere opens a new conversation;
    // an open one on screen is never replaced by a stray frame.
    if (openId()) return false;
    startConv(id);
    redrawAll();
    return true;
  }

  function acceptEvent(ev) {
    if (!isNum(ev.seq) || !adoptConv(ev.conversation)) return;
    var conv = state.conv;
    // The server sends each seq once per socket, but a resume we ask for again
    // replays; the on-screen transcript is strictly increasing.
    if (ev.seq <= conv.lastSeq) return;
    conv.lastSeq = ev.seq;
    var stored = Object.assign({}, ev);
    delete stored.type;
    delete stored.conversation;
    conv.events.push(stored);
    if (conv.events.length > MAX_STORED_EVENTS) conv.events.splice(0, conv.events.length - MAX_STORED_EVENTS);
    var to = ev.kind === "transferred" && ev.to || {};
    if (ev.kind === "assigned" || to.agent) {
      conv.state = "active";
      conv.agent = ev.agent || to.agent || null;
      // Someone is here to answer: the message goes to them, unless the close is already out.
      if (!state.closing) setLeave(0);
    }
    // Events come in seq order, so a `queued` after `assigned` is a requeue
    // (the agent went offline, or let the offer lapse), and a transfer to a
    // department waits there: ask for the place in that queue.
    if (ev.kind === "queued" || to.department) {
      conv.state = "queued";
      // Another department's queue: the old place means nothing there.
      if (to.department) state.q = {};
      if (ev.reason || to.department) send({ type: "ping" });
    }
    if (ev.kind === "closed") {
      conv.state = "closed";
      showTyping(false);
      if (state.leave === 2) conv.left = true;
      setLeave(0);
    }
    if (ev.kind === "message" && ev.client_id) dropPending(ev.client_id);
    if (ev.kind === "message" && ev.author && ev.author.role === "agent") {
      showTyping(false);
      // The host page's listeners get a plain copy, never our stored event.
      // (each on its own turn, so a throwing listener costs us nothing).
      onMessage.forEach((fn) => { setTimeout(fn, 0, { conversation: ev.conversation, seq: ev.seq, at: ev.at, body: ev.body, author: { name: ev.author.name } }); });
    }
    persistConv();
    renderEvent(ev);
    drawState();
    scrollDown();
    scheduleRead();
  }

  function setLeave(value) {
    state.closing = false;
    state.leave = value;
    save("leave", value);
  }

  // Once the visitor chose to leave a message and every message is acked,
  // close: the server turns a chat left while queued into a ticket.
  function maybeLeave() {
    if (state.leave === 2 && !state.closing && !state.pending.length && openId()) {
      state.closing = send({ type: "close", conversation: openId() });
    }
  }

  function dropPending(clientId) {
    var before = state.pending.length;
    state.pending = state.pending.filter((item) => item.client_id !== clientId);
    if (state.pending.length !== before) persistPending();
  }

  // ---- Socket --------------------------------------------------------------------
  var ws = null,
    welcomed = false,
    attempt = 0,
    retryTimer = null,
    pingTimer = null,
    pongTimer = null,
    everConnected = false;

  function send(frame) {
    if (!ws || ws.readyState !== 1 || (!welcomed && frame.type !== "hello")) return false;
    ws.send(JSON.stringify(frame));
    return true;
  }

  function profile() {
    var result = {};
    var name = (ui.name.value || data.name || "").trim();
    var email = (ui.email.value || data.email || "").trim();
    if (name) result.name = name.slice(0, 200);
    // The server refuses a hello with a malformed e-mail; a typo must not cost the chat.
    if (email && email.length <= 254 && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) result.email = email;
    result.transcript = ui.transcript.checked;
    return result;
  }

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = null;
    if (ws) return;
    welcomed = false;
    var socket;
    try { socket = new WebSocket(WS_URL); } catch (e) { scheduleReconnect(); return; }
    ws = socket;
    socket.onopen = () => { if (ws === socket) sendHello(socket); };
    socket.onmessage = (msg) => {
      if (ws !== socket) return;
      var frame;
      try { frame = JSON.parse(msg.data); } catch (e) { return; }
      if (frame && isStr(frame.type)) receive(frame);
    };
    socket.onclose = (closeEvent) => {
      if (ws !== socket) return;
      ws = null;
      welcomed = false;
      stopHeartbeat();
      if (closeEvent.code === 4001) {
        // Our token was refused (rotated secret, wiped server): start afresh.
        state.token = null;
        save("token", null);
      }
      scheduleReconnect(closeEvent.code === 4029 ? 10 : 0);
    };
    // No onerror: onclose always follows, and reconnects.
  }

  // minimal: the server refused our hello's fields once (a mistyped
  // data-department, say); a bare hello still gets the visitor a chat.
  var minimalHello = false,
    identityJwt = data.identityJwt; // or later from Chatportal.identify()
  function sendHello(socket) {
    // Another tab of this site may have become a visitor (or started a chat)
    // since this one loaded: reuse that, never mint a second visitor.
    state.token = load("token", null) || state.token;
    if (!state.conv) {
      state.conv = load("conv", null);
      if (state.conv) redrawAll();
    }
    var hello = { type: "hello", token: state.token || null, locale: LOCALE };
    if (!minimalHello) {
      hello.department = (OFFERED.length ? ui.deptSelect.value : data.department) || undefined;
      if (OFFERED.length) hello.departments = OFFERED;
      hello.profile = profile();
      // Who the host site says this is: a signed JWT, or an external id with its HMAC.
      hello.identity = identityJwt ? { jwt: identityJwt }
        : data.externalId && data.identityHmac ? { external_id: data.externalId, hmac: data.identityHmac } : undefined;
      hello.page = { url: location.href.slice(0, 2000), title: document.title.slice(0, 300) };
    }
    if (openId()) {
      hello.resume = {};
      hello.resume[openId()] = state.conv.lastSeq;
    }
    state.sentProfile = JSON.stringify(minimalHello ? profile() : hello.profile);
    socket.send(JSON.stringify(hello));
  }

  function onHelloRefused(frame) {
    console.warn("Chatportal: hello refused:", frame.code, frame.detail);
    if (!minimalHello && (frame.code === "invalid" || frame.code === "not_found")) {
      minimalHello = true;
      sendHello(ws);
      return;
    }
    // Closed by us, so the server's later 4001 (no hello in time) cannot
    // cost the visitor their token; try again after a while.
    dropSocket();
    showStatus(t("reconnecting"));
    scheduleReconnect(8);
  }

  function scheduleReconnect(minSeconds) {
    if (retryTimer) return;
    if (everConnected || state.open) showStatus(t("reconnecting"));
    // Exponential backoff with jitter, so a restarted server is not hit by
    // every visitor at the same instant.
    var base = Math.min(30000, 500 * 2 ** attempt);
    var delay = Math.max((minSeconds || 0) * 1000, base / 2 + Math.random() * base / 2);
    attempt = Math.min(attempt + 1, 10);
    retryTimer = setTimeout(() => { retryTimer = null; connect(); }, delay);
  }

  function reconnectNow() {
    clearTimeout(retryTimer);
    retryTimer = null;
    attempt = 0;
    if (ws) dropSocket();
    connect();
  }

  function dropSocket() {
    var old = ws;
    ws = null;
    stopHeartbeat();
    try { old.close(); } catch (e) { /* already closing */ }
  }

  function showStatus(text) {
    ui.status.textContent = text || "";
    ui.status.hidden = !text;
  }

  function startHeartbeat() {
    stopHeartbeat();
    pingTimer = setInterval(() => {
      if (!send({ type: "ping" })) return;
      // No pong in time means the connection is dead even without a close frame
      // (sleep, network switch); drop it and reconnect.
      clearTimeout(pongTimer);
      pongTimer = setTimeout(reconnectNow, PONG_TIMEOUT_MS);
    }, PING_MS);
  }

  function stopHeartbeat() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pingTimer = pongTimer = null;
  }

  function sendItem(item) { send({ type: "message", client_id: item.client_id, body: item.body }); }


  function receive(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(frame);
      case "event": return acceptEvent(frame);
      case "ack": return onAck(frame);
      case "error":
        // identity_invalid arrives before welcome too, and is only advice.
        if (!welcomed && frame.code !== "identity_invalid") return onHelloRefused(frame);
        return onError(frame);
      case "pong": return onPong(frame);
      case "queue": return onQueue(frame);
      case "typing":
        if (frame.role === "agent" && mine(frame)) showTyping(!!frame.active);
        return;
      case "read":
        if (frame.role === "agent" && mine(frame) && isNum(frame.seq)) markRead(frame.seq);
        return;
      case "suggestions": return onSuggestions(frame);
      case "history": return onHistory(frame);
    }
  }

  function onWelcome(frame) {
    welcomed = true;
    ui.histButton.hidden = !(frame.visitor && frame.visitor.identified);
    // The offered departments by name, in the site's order.
    (frame.departments || []).forEach((d) => {
      var i = OFFERED.indexOf(d.slug);
      if (i >= 0) ui.deptSelect.options[i].textContent = state.depts[d.slug] = String(d.name);
    });
    everConnected = true;
    attempt = 0;
    showStatus("");
    if (isStr(frame.token) && frame.token) {
      state.token = frame.token;
      save("token", frame.token);
    }
    var dept = frame.department || {};
    state.online = dept.online !== false;
    state.wait = dept.estimated_wait_s;
    state.longWait = dept.long_wait_s;
    state.hours = !state.online && dept.hours ? String(dept.hours) : "";
    if (dept.slug) state.depts[dept.slug] = String(dept.name || dept.slug);
    state.kbSearch = dept.kb_search === true;
    var conv = frame.conversation;
    if (conv && isStr(conv.id)) {
      if (!state.conv || state.conv.id !== conv.id) {
        // A different conversation (another device, a merged identity, a lost
        // ack): the server sends it from its first event, our hello did not name it.
        startConv(conv.id);
        redrawAll();
      }
      if (isStr(conv.state)) state.conv.state = conv.state;
      if (conv.agent) state.conv.agent = conv.agent;
      persistConv();
    } else {
      if (state.conv && state.conv.state !== "closed") {
        // The server knows no open conversation of ours: it ended while we were away.
        state.conv.state = "closed";
        persistConv();
      }
      // Nothing left to leave: a stale choice must not close a later chat.
      if (!state.pending.length) setLeave(0);
    }
    drawState();
    state.pending.forEach(sendItem);
    state.closing = false;
    maybeLeave();
    startHeartbeat();
    scheduleRead();
  }

  function onAck(frame) {
    var clientId = frame.client_id;
    if (!isStr(clientId)) return;
    if (isStr(frame.conversation)) adoptConv(frame.conversation);
    dropPending(clientId);
    var node = rendered[clientId];
    if (node) {
      if (isNum(frame.seq)) node._seq = frame.seq;
      if (node._state !== "read") setTick(node, "sent");
    }
    drawState();
    maybeLeave();
    if (!state.online && !state.leftNoted) {
      state.leftNoted = true;
      note([t("left")]);
    }
  }

  function onError(frame) {
    var clientId = frame.client_id;
    if (!isStr(clientId) || !rendered[clientId]) return;
    if (frame.code === "rate_limited") {
      var wait = Math.min(60, Math.max(1, Number(frame.retry_after_s) || 5));
      setTimeout(() => {
        state.pending.forEach((item) => {
          if (item.client_id === clientId) sendItem(item);
        });
      }, wait * 1000);
      return;
    }
    // The server refused this message for good: keep it visible, stop resending.
    dropPending(clientId);
    setTick(rendered[clientId], "failed");
    drawState();
  }

  function resume(id, after) { send({ type: "resume", conversation: id, after_seq: after }); }

  function onPong(frame) {
    clearTimeout(pongTimer);
    pongTimer = null;
    var seqs = frame.last_seq || {};
    if (!cid()) {
      // A conversation started elsewhere (another tab): follow it.
      var ids = Object.keys(seqs);
      if (ids.length === 1 && adoptConv(ids[0])) resume(ids[0], 0);
      return;
    }
    var conv = state.conv, theirs = seqs[conv.id];
    if (isNum(theirs) && theirs > conv.lastSeq) resume(conv.id, conv.lastSeq);
  }

  function onQueue(frame) {
    // Kept even while active: it may overtake the `queued` event of a requeue,
    // and the server sends a place only when it changes.
    if (!mine(frame)) return;
    state.q = frame;
    drawState();
  }

  function onSuggestions(frame) {
    if (!mine(frame) || !Array.isArray(frame.articles)) return;
    var list = articleList(frame.articles, frame.conversation);
    if (list.childNodes.length) note([t("articles"), list]);
  }

  // Articles as a list of buttons (titles and snippets as text) that open them here.
  function articleList(articles, conv) {
    var list = el("ul", { class: "kb", role: "list", "aria-label": t("suggested") });
    articles.slice(0, 5).forEach((a) => {
      if (a && isStr(a.title) && isStr(a.id) && safeUrl(a.url)) {
        list.append(el("li", null, [el("button", { text: a.title, onclick: () => { showArticle(a, conv); } }), isStr(a.snippet) && el("small", { text: a.snippet })]));
      }
    });
    return list;
  }

  var reading = null;
  function showArticle(a, conv) {
    var frame = ui.reader.querySelector("iframe");
    if (frame) frame.remove();
    reading = a && { id: a.id, conv: conv };
    if (a) ui.reader.prepend(el("iframe", { src: safeUrl(a.url), title: a.title, sandbox: "allow-popups allow-popups-to-escape-sandbox" }));
    ui.reader.hidden = !a;
    ui.log.hidden = ui.help.hidden = !!a;
    // "Solved" ends a waiting chat: only for an article suggested in the open one.
    ui.solved.hidden = !a || !conv || conv !== openId();
    if (a) ui.back.focus();
    else drawState();
  }

  function solved() {
    if (reading && reading.conv === openId() && send({ type: "deflected", conversation: reading.conv, article: reading.id })) showArticle(null);
  }

  var searchTimer = null;
  function searchHelp(e) {
    var q = e.target.value.trim();
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      if (!q) return (ui.found.textContent = "");
      fetch(ORIGIN + "/kb/embed/search/?locale=" + LOCALE + "&q=" + encodeURIComponent(q))
        .then((r) => r.json())
        .then((j) => { ui.found.replaceChildren(articleList(j.articles || [])); }, () => {});
    }, 300);
  }

  // Each earlier conversation: when, where, and its messages as text.
  function onHistory(frame) {
    ui.histList.replaceChildren(...frame.conversations.map((c) => el("li", null, [
      el("h3", { text: new Date(c.started_at).toLocaleDateString(LOCALE) + " · " + c.department }),
      ...c.messages.map((m) => el("p", null, [el("b", { text: (m.author.role === "visitor" ? t("you") : m.author.name || t("agent")) + ": " }), String(m.body)]))
    ])));
    showHistory(true);
  }

  function showHistory(on) {
    ui.history.hidden = !on;
    ui.log.hidden = on;
    (on ? ui.histBack : ui.histButton).focus();
  }

  var typingHideTimer = null;
  function showTyping(active) {
    clearTimeout(typingHideTimer);
    var name = state.conv && state.conv.agent && state.conv.agent.name || t("agent");
    ui.typing.textContent = active ? t("typing", { name: name }) : "";
    // A lost "stopped typing" frame must not leave the indicator on forever.
    if (active) typingHideTimer = setTimeout(() => { ui.typing.textContent = ""; }, 8000);
  }

  // ---- Visitor actions ------------------------------------------------------------
  var typingActive = false,
    typingSentAt = 0,
    typingStopTimer = null;

  function sendTyping(active) {
    if (!openId()) return;
    if (send({ type: "typing", active: active })) {
      typingActive = active;
      typingSentAt = Date.now();
    }
  }

  function onInput() {
    clearTimeout(typingStopTimer);
    if (!ui.text.value) {
      if (typingActive) sendTyping(false);
      return;
    }
    // Throttled: one "typing" every 3 s while keys keep coming, "stopped" after 4 s of quiet.
    if (!typingActive || Date.now() - typingSentAt > 3000) sendTyping(true);
    typingStopTimer = setTimeout(() => { if (typingActive) sendTyping(false); }, 4000);
  }

  function submit(e) {
    if (e) e.preventDefault();
    var body = ui.text.value.trim().slice(0, MAX_BODY);
    // Leaving a message needs a message, or a waiting chat to leave.
    if (state.leave === 1 && (body || openId())) setLeave(2);
    else if (!body) return;
    ui.text.value = "";
    clearTimeout(typingStopTimer);
    if (typingActive) sendTyping(false);
    var prof = profile();
    save("profile", prof);
    var item = body && { client_id: uuid(), body: body, at: new Date().toISOString() };
    if (item) {
      state.pending.push(item);
      persistPending();
      renderPending(item);
    }
    drawState();
    scrollDown();
    if (ws && state.sentProfile !== null && JSON.stringify(prof) !== state.sentProfile && (!cid() || state.leave)) {
      // The profile travels only in hello (the ticket's e-mail too): say hello
      // again, pending messages and the close follow the new welcome, with
      // their client_ids unchanged.
      reconnectNow();
    } else if (!ws) {
      connect();
    } else if (item) {
      sendItem(item);
    }
    maybeLeave();
  }

  var readTimer = null;
  function scheduleRead() {
    if (readTimer || !state.open || document.hidden) return;
    readTimer = setTimeout(() => {
      readTimer = null;
      var conv = state.conv;
      if (!conv || !conv.id || !conv.lastSeq || conv.sentRead >= conv.lastSeq || !state.open || document.hidden) return;
      if (send({ type: "read", conversation: conv.id, seq: conv.lastSeq })) conv.sentRead = conv.lastSeq;
    }, 500);
  }

  function setOpen(open) {
    // Closing from inside the panel (Escape, minimize, the API) hands focus back to the launcher.
    var hadFocus = !open && ui.panel.contains(root.activeElement);
    state.open = open;
    host.classList.toggle("open", open);
    ui.panel.hidden = !open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    save("open", open);
    if (open) {
      state.unread = 0;
      drawUnread();
      connect();
      scrollDown();
      (ui.form.hidden ? ui.newChat : ui.text).focus();
      scheduleRead();
    } else if (hadFocus) {
      ui.launcher.focus();
    }
  }

  function minimize() {
    setOpen(false);
    ui.launcher.focus();
  }

  function endChat() {
    if (openId()) send({ type: "close", conversation: openId() });
  }

  function newChat() {
    if (cid()) {
      state.left = state.left.concat(state.conv.id).slice(-10);
      save("left", state.left);
    }
    state.conv = null;
    persistConv();
    state.rated = false;
    state.q = null;
    setLeave(0);
    redrawAll();
    ui.text.focus();
  }

  function rate(e) {
    var target = e.target.closest("button[data-score]");
    if (!target || !cid()) return;
    var comment = ui.comment.value.trim().slice(0, 2000);
    if (send({ type: "rate", conversation: state.conv.id, score: +target.dataset.score, comment: comment })) {
      state.rated = true;
      ui.comment.value = "";
      ui.rate.hidden = true;
      note([t("thanks")]);
    }
  }

  root.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.open) minimize();
  });
  document.addEventListener("visibilitychange", scheduleRead);
  window.addEventListener("online", () => { if (ws || retryTimer) reconnectNow(); });
  window.addEventListener("offline", () => { if (everConnected || state.open) showStatus(t("reconnecting")); });

  function mount() {
    document.body.append(host);
    redrawAll();
    // Returning visitors with a conversation (or unsent messages) reconnect at
    // once so replies arrive while the panel is closed; first-time visitors
    // connect only when they open the chat.
    if (load("open", false)) setOpen(true);
    else if (openId() || state.pending.length) connect();
  }

  // ---- The host page's API ------------------------------------------------------
  var onMessage = [];
  var api = {
    // A JWT of the host's signed-in user (see identity in docs/protocol.md): says hello again with it.
    identify: (jwt) => {
      if (isStr(jwt) && jwt !== identityJwt) {
        identityJwt = jwt;
        minimalHello = false;
        if (ws) reconnectNow();
      }
    },
    open: () => { setOpen(true); },
    close: () => { setOpen(false); },
    on: (name, fn) => { if (name === "message" && typeof fn === "function") onMessage.push(fn); },
    // Chatportal.push(["open"]) works before and after the script loaded.
    push: (call) => { if (call && api[call[0]]) api[call[0]](...[].slice.call(call, 1)); },
    version: 1
  };
  window.Chatportal = Object.freeze(api);
  (early || []).forEach(api.push);

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
