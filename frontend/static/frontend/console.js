/* Chatportal agent console: one page over the agent socket (/ws/agent/).
 *
 * Every change goes out as a protocol frame (the same actions any client
 * uses); the page only renders what the server sends. Text from visitors
 * and agents is only ever put into the DOM with textContent.
 *
 * Delivery: the server sends each event once, in seq order, per socket. After
 * a reconnect the page asks for everything after the last seq it holds
 * (`resume`), so it catches up by itself; it drops any event it already has.
 */
(function () {
  "use strict";

  var configNode = document.getElementById("console-config");
  if (!configNode) return;
  var config = JSON.parse(configNode.textContent);
  var S = config.strings;
  var PANEL_PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
  // The server says how often (a third of the presence TTL): a console that
  // sends nothing for the TTL counts as gone, like a laptop with its lid shut.
  var PING_EVERY_MS = config.pingEveryMs || 10000;
  var PONG_TIMEOUT_MS = 10000;
  var BACKOFF_MIN_MS = 500;
  var BACKOFF_MAX_MS = 30000;
  var TYPING_IDLE_MS = 4000;

  // ---- small helpers -------------------------------------------------------

  function $(id) { return document.getElementById(id); }

  function fmt(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (m, key) {
      return values && values[key] !== undefined && values[key] !== null ? String(values[key]) : m;
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function uuid4() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") return window.crypto.randomUUID();
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function safeHref(url) {
    // Only our own paths and http(s) links become hrefs; never javascript: or data:.
    if (typeof url !== "string") return null;
    if (/^\/(?!\/)/.test(url)) return url;
    try {
      var parsed = new URL(url, window.location.href);
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch (e) {
      return null;
    }
  }

  // Web addresses in message text become links, built as nodes (the rule of
  // foundation/linkify.py): http(s) only, trailing punctuation and unopened
  // closing brackets left out, never parsed as HTML.
  var LINK_CANDIDATE = /https?:\/\/[0-9a-z][^\s<>"`]*/gi;
  var CLOSERS = { ")": "(", "]": "[", "}": "{" };
  function count(text, ch) { return text.split(ch).length - 1; }
  function trimUrl(url) {
    while (url) {
      var last = url.charAt(url.length - 1);
      if (".,;:!?'*".indexOf(last) >= 0) url = url.slice(0, -1);
      else if (CLOSERS[last] && count(url, CLOSERS[last]) < count(url, last)) url = url.slice(0, -1);
      else break;
    }
    return url;
  }
  function appendLinkified(node, text) {
    text = String(text || "");
    var position = 0;
    var match;
    LINK_CANDIDATE.lastIndex = 0;
    while ((match = LINK_CANDIDATE.exec(text)) !== null) {
      var start = match.index;
      if (start > 0 && /[0-9A-Za-z]/.test(text.charAt(start - 1))) continue;
      var url = trimUrl(match[0]);
      if (start > position) node.appendChild(document.createTextNode(text.slice(position, start)));
      var a = el("a", "msg-link", url);
      a.href = url;
      a.target = "_blank";
      a.rel = "noopener noreferrer nofollow";
      node.appendChild(a);
      position = start + url.length;
      LINK_CANDIDATE.lastIndex = position;
    }
    if (position < text.length) node.appendChild(document.createTextNode(text.slice(position)));
    return node;
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.round(seconds || 0));
    if (seconds < 60) return fmt(S.seconds, { n: seconds });
    if (seconds < 3600) return fmt(S.minutes, { n: Math.floor(seconds / 60) });
    return fmt(S.hours, { n: Math.floor(seconds / 3600) });
  }

  var timeFormat;
  try {
    // In the agent's own zone (their settings), else the browser's.
    var timeOptions = { hour: "2-digit", minute: "2-digit" };
    if (config.timeZone) timeOptions.timeZone = config.timeZone;
    timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, timeOptions);
  } catch (e) {
    timeFormat = null;
  }
  function clock(iso) {
    var d = iso ? new Date(iso) : new Date();
    if (isNaN(d.getTime())) return "";
    return timeFormat ? timeFormat.format(d) : d.toLocaleTimeString();
  }

  function announce(text) {
    var node = $("announcer");
    node.textContent = "";
    window.setTimeout(function () { node.textContent = text; }, 30);
  }

  function toast(text, kind) {
    var box = $("toasts");
    var item = el("div", "toast" + (kind ? " toast-" + kind : ""), text);
    box.appendChild(item);
    window.setTimeout(function () { item.remove(); }, 6000);
  }

  // ---- state ---------------------------------------------------------------

  var state = {
    socket: null,
    ready: false,
    attempt: 0,
    reconnectTimer: null,
    pingTimer: null,
    pongTimer: null,
    me: null,
    chats: new Map(), // id -> chat
    queues: new Map(), // department slug -> queue frame
    selected: null,
    outbox: [], // frames to send once the socket is back
    unacked: new Map(), // client_id -> message frame, resent after a reconnect (same client_id: no double)
    acceptedByMe: new Set(),
    sound: null, // AudioContext once enabled
    baseTitle: document.title
  };

  function chatFor(id) { return state.chats.get(id) || null; }

  // Drafts also survive a reload of the tab (sessionStorage: this tab only, gone when it closes).
  function storedDraft(id) {
    try { return window.sessionStorage.getItem("chatportal.draft." + id) || ""; } catch (e) { return ""; }
  }

  function storeDraft(id, text) {
    try {
      if (text) window.sessionStorage.setItem("chatportal.draft." + id, text);
      else window.sessionStorage.removeItem("chatportal.draft." + id);
    } catch (e) { /* storage full or disabled: the in-memory draft still works */ }
  }

  function ensureChat(summary) {
    var chat = state.chats.get(summary.id);
    if (!chat) {
      // A list of events that is also a polite live region (role="log" would hide the list).
      var log = el("ol", "transcript");
      log.setAttribute("aria-live", "polite");
      log.setAttribute("aria-label", summary.visitor && summary.visitor.name ? summary.visitor.name : S.anonymousVisitor);
      log.hidden = true;
      $("transcripts").appendChild(log);
      chat = {
        id: summary.id,
        summary: summary,
        lastSeq: 0,
        seen: new Set(),
        log: log,
        // What the chat held when this page first heard of it is history, not news.
        historyUntil: summary.last_seq || 0,
        draft: storedDraft(summary.id),
        draftInternal: false,
        unread: 0,
        mine: false,
        offered: false,
        closed: false,
        ticket: null,
        readSent: 0,
        visitorReadSeq: 0,
        typingTimer: null,
        pending: new Map(), // client_id -> element
        lastPreview: ""
      };
      state.chats.set(summary.id, chat);
    } else {
      chat.summary = Object.assign({}, chat.summary, summary);
    }
    if (summary.state === "closed") chat.closed = true;
    return chat;
  }

  function visitorName(chat) {
    var v = chat.summary && chat.summary.visitor;
    return (v && v.name) || S.anonymousVisitor;
  }

  function send(frame) {
    if (state.socket && state.ready && state.socket.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function sendOrQueue(frame) {
    if (frame.type === "message") {
      state.unacked.set(frame.client_id, frame);
      send(frame);
      return;
    }
    if (!send(frame)) state.outbox.push(frame);
  }

  // ---- connection ----------------------------------------------------------

  function setConnection(kind) {
    var node = $("connection");
    node.dataset.state = kind;
    node.querySelector(".connection-label").textContent =
      kind === "connected" ? S.connected : kind === "offline" ? S.offline : S.reconnecting;
    var controls = [$("presence"), $("accepting")];
    controls.forEach(function (c) { c.disabled = kind !== "connected"; });
  }

  function connect() {
    window.clearTimeout(state.reconnectTimer);
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + config.socketPath);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    state.socket = socket;
    state.ready = false;
    setConnection(navigator.onLine === false ? "offline" : "reconnecting");
    socket.addEventListener("message", function (ev) {
      if (socket !== state.socket) return;
      var frame;
      try { frame = JSON.parse(ev.data); } catch (e) { return; }
      receive(frame);
    });
    socket.addEventListener("close", function () {
      if (socket !== state.socket) return;
      state.ready = false;
      stopPinging();
      scheduleReconnect();
    });
    socket.addEventListener("error", function () { /* close follows */ });
  }

  function scheduleReconnect() {
    setConnection(navigator.onLine === false ? "offline" : "reconnecting");
    window.clearTimeout(state.reconnectTimer);
    var base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, state.attempt));
    state.attempt += 1;
    var delay = base / 2 + Math.random() * base / 2;
    state.reconnectTimer = window.setTimeout(connect, delay);
  }

  function forceReconnect() {
    var socket = state.socket;
    state.socket = null;
    state.ready = false;
    stopPinging();
    if (socket) { try { socket.close(); } catch (e) { /* already closing */ } }
    state.attempt = 0;
    connect();
  }

  function startPinging() {
    stopPinging();
    state.pingTimer = window.setInterval(ping, PING_EVERY_MS);
  }

  function stopPinging() {
    window.clearInterval(state.pingTimer);
    window.clearTimeout(state.pongTimer);
  }

  function ping() {
    if (!send({ type: "ping" })) return;
    window.clearTimeout(state.pongTimer);
    // No pong in time: the socket is dead even if no close came (sleep, network cut).
    state.pongTimer = window.setTimeout(forceReconnect, PONG_TIMEOUT_MS);
  }

  window.addEventListener("online", function () { if (!state.ready) forceReconnect(); });
  window.addEventListener("offline", function () { setConnection("offline"); });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      if (state.ready) ping();
      markSelectedRead();
    }
  });

  // ---- frames from the server ---------------------------------------------

  function receive(frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(frame);
      case "event": return onEvent(frame);
      case "assigned": return onAssigned(frame);
      case "unassigned": return onUnassigned(frame);
      case "queue": return onQueue(frame);
      case "presence": return onPresence(frame);
      case "typing": return onTyping(frame);
      case "read": return onRead(frame);
      case "ack": return onAck(frame);
      case "error": return onError(frame);
      case "pong": return onPong(frame);
      case "call": return onCall(frame);
      default: return undefined;
    }
  }

  function onWelcome(frame) {
    state.ready = true;
    state.attempt = 0;
    state.me = frame.agent;
    setConnection("connected");
    setPresenceControl(frame.agent.status, undefined);
    var assignedIds = new Set();
    (frame.conversations || []).forEach(function (summary) {
      assignedIds.add(summary.id);
      var chat = ensureChat(summary);
      chat.mine = true;
      // An offer still unanswered after a reload keeps its Accept button.
      if (summary.offered) chat.offered = true;
    });
    state.chats.forEach(function (chat) {
      if (chat.mine && !assignedIds.has(chat.id) && !chat.closed) {
        // Taken away while we were gone; keep the transcript, it just is not ours now.
        chat.mine = false;
      }
      // Everything after what we hold: history on a fresh page, the gap after a reconnect.
      send({ type: "resume", conversation: chat.id, after_seq: chat.lastSeq });
    });
    (frame.queues || []).forEach(onQueue);
    state.unacked.forEach(function (f) { send(f); });
    var outbox = state.outbox;
    state.outbox = [];
    outbox.forEach(function (f) { sendOrQueue(f); });
    startPinging();
    renderLists();
    if (state.selected) renderHeader(chatFor(state.selected));
  }

  function onAssigned(frame) {
    var summary = frame.conversation;
    var known = state.chats.has(summary.id) && chatFor(summary.id).mine;
    var chat = ensureChat(summary);
    chat.mine = true;
    chat.closed = summary.state === "closed";
    if (state.acceptedByMe.has(summary.id)) {
      state.acceptedByMe.delete(summary.id);
      chat.offered = false;
      select(chat.id);
    } else if (!known) {
      chat.offered = true;
      notify(S.newAssignment, visitorName(chat), chat.id);
    }
    renderLists();
    if (state.selected === chat.id) renderHeader(chat);
  }

  function onUnassigned(frame) {
    var chat = chatFor(frame.conversation);
    if (!chat) return;
    chat.mine = false;
    chat.offered = false;
    toast(fmt(S.unassigned, { reason: frame.reason || "" }));
    renderLists();
    if (state.selected === chat.id) renderHeader(chat);
  }

  function onQueue(frame) {
    frame.receivedAt = Date.now();
    state.queues.set(frame.department, frame);
    (frame.conversations || []).forEach(function (summary) {
      var chat = state.chats.get(summary.id);
      if (chat) chat.summary = Object.assign({}, chat.summary, summary);
    });
    renderQueue(frame);
  }

  function onPresence(frame) {
    if (state.me && frame.agent === state.me.id) {
      setPresenceControl(frame.status, frame.accepting);
      return;
    }
    // Colleagues: the transfer dialog says who is there to take a chat.
    var option = document.querySelector('#transfer-agent option[value="' + CSS.escape(frame.agent) + '"]');
    if (!option) return;
    if (!option.dataset.name) option.dataset.name = option.textContent;
    var label = document.querySelector('#presence option[value="' + CSS.escape(frame.status) + '"]');
    option.textContent = option.dataset.name + (label ? " — " + label.textContent : "");
    option.dataset.status = frame.status;
  }

  function onTyping(frame) {
    var chat = chatFor(frame.conversation);
    if (!chat || frame.role !== "visitor") return;
    window.clearTimeout(chat.typingTimer);
    chat.visitorTyping = !!frame.active;
    if (frame.active) {
      chat.typingTimer = window.setTimeout(function () {
        chat.visitorTyping = false;
        renderTyping();
      }, 8000);
    }
    renderTyping();
  }

  function onRead(frame) {
    var chat = chatFor(frame.conversation);
    if (!chat || frame.role !== "visitor") return;
    chat.visitorReadSeq = Math.max(chat.visitorReadSeq, frame.seq);
    renderSeen(chat);
  }

  function onAck(frame) {
    var chat = chatFor(frame.conversation);
    if (!chat || !frame.client_id) return;
    var pending = chat.pending.get(frame.client_id);
    if (pending) pending.classList.remove("is-failed");
    state.unacked.delete(frame.client_id);
  }

  function onError(frame) {
    if (frame.client_id) {
      state.unacked.delete(frame.client_id);
      state.chats.forEach(function (chat) {
        var pending = chat.pending.get(frame.client_id);
        if (pending) {
          pending.classList.add("is-failed");
          var status = pending.querySelector(".msg-status");
          if (status) status.textContent = S.failed;
        }
      });
    }
    if (frame.code === "rate_limited") return;
    toast(fmt(S.errorPrefix, { detail: frame.detail || frame.code || "" }), "error");
  }

  function onPong(frame) {
    window.clearTimeout(state.pongTimer);
    var seqs = frame.last_seq || {};
    Object.keys(seqs).forEach(function (id) {
      var chat = chatFor(id);
      // A lost notification with nothing after it: ask for the rest.
      if (chat && chat.lastSeq < seqs[id]) send({ type: "resume", conversation: id, after_seq: chat.lastSeq });
    });
  }

  // ---- events --------------------------------------------------------------

  function onEvent(frame) {
    var chat = chatFor(frame.conversation);
    if (!chat) chat = ensureChat({ id: frame.conversation, state: "queued", visitor: { name: null } });
    if (chat.seen.has(frame.seq)) return;
    chat.seen.add(frame.seq);
    chat.lastSeq = Math.max(chat.lastSeq, frame.seq);
    var node = renderEvent(chat, frame);
    node.dataset.seq = String(frame.seq);
    var pending = frame.client_id ? chat.pending.get(frame.client_id) : null;
    if (pending) {
      pending.replaceWith(node);
      chat.pending.delete(frame.client_id);
    } else {
      insertBySeq(chat.log, node, frame.seq);
    }
    applyEventToState(chat, frame);
    if (frame.kind === "message" && frame.author && frame.author.role === "visitor") {
      chat.lastPreview = frame.body || "";
      var looking = state.selected === chat.id && !document.hidden;
      if (!looking && frame.seq > chat.historyUntil) {
        chat.unread += 1;
        notify(fmt(S.newMessage, { name: visitorName(chat) }), frame.body || "", chat.id);
      }
    }
    if (state.selected === chat.id) {
      scrollToEnd(chat);
      markSelectedRead();
      renderHeader(chat);
    }
    renderSeen(chat);
    renderLists();
  }

  function applyEventToState(chat, frame) {
    var s = chat.summary;
    switch (frame.kind) {
      case "queued": s.state = "queued"; s.department = frame.department || s.department; break;
      case "assigned": s.state = "active"; s.agent = frame.agent; break;
      case "transferred":
        if (frame.to && frame.to.department) s.department = frame.to.department;
        break;
      case "closed": s.state = "closed"; chat.closed = true; chat.offered = false; break;
      case "ticket":
        chat.ticket = { number: frame.number, status: frame.status, portal_url: frame.portal_url };
        if (state.selected === chat.id) loadPanel(chat.id);
        break;
      case "contact":
        // Linked to a CRM contact (by this agent or a colleague): the panel shows the record.
        if (state.selected === chat.id) loadPanel(chat.id);
        break;
      case "message":
        if (frame.author && frame.author.role === "agent" && !frame.internal &&
            state.me && frame.author.name === state.me.name) chat.offered = false;
        break;
      default: break;
    }
  }

  function insertBySeq(log, node, seq) {
    node.dataset.seq = String(seq);
    var children = log.querySelectorAll("[data-seq]");
    for (var i = children.length - 1; i >= 0; i--) {
      if (Number(children[i].dataset.seq) < seq) {
        children[i].after(node);
        return;
      }
    }
    var firstPending = log.querySelector(".is-pending");
    if (children.length === 0 && !firstPending) log.appendChild(node);
    else if (children.length === 0) log.insertBefore(node, firstPending);
    else log.insertBefore(node, children[0]);
  }

  function systemLine(text, extra) {
    var li = el("li", "evt evt-system");
    li.appendChild(el("span", "evt-text", text));
    if (extra) li.appendChild(extra);
    return li;
  }

  function renderEvent(chat, frame) {
    var li;
    switch (frame.kind) {
      case "message": li = renderMessage(frame); break;
      case "queued":
        li = systemLine(frame.reason
          ? fmt(S.requeuedEvent, { reason: frame.reason })
          : fmt(S.queuedEvent, { department: frame.department || "" }));
        break;
      case "assigned":
        li = systemLine(fmt(S.assignedEvent, { name: frame.agent && frame.agent.name }));
        break;
      case "transferred":
        li = systemLine(frame.to && frame.to.agent
          ? fmt(S.transferredToAgent, { name: frame.to.agent.name })
          : fmt(S.transferredToDepartment, { department: frame.to && frame.to.department }));
        break;
      case "closed":
        li = systemLine(frame.reason
          ? fmt(S.closedWithReason, { by: frame.by, reason: frame.reason })
          : fmt(S.closedEvent, { by: frame.by }));
        break;
      case "rated":
        li = systemLine(fmt(S.ratedEvent, { score: frame.score }) + (frame.comment ? " — " + frame.comment : ""));
        break;
      case "ticket": {
        var link = el("a", "evt-link", S.openTicket + " " + (frame.number || ""));
        var href = safeHref(config.ticketUrl.replace("{number}", encodeURIComponent(frame.number || "")));
        if (href) link.href = href;
        li = systemLine(fmt(S.ticketEvent, { number: frame.number }), link);
        li.classList.add("evt-ticket");
        break;
      }
      case "attachment": li = renderAttachment(frame); break;
      case "whisper":
        // A supervisor's note to this agent: internal, never the visitor's (chat.actions.floor).
        li = renderMessage({ author: frame.author, body: frame.body, internal: true });
        li.classList.add("msg-whisper");
        li.insertBefore(el("span", "badge badge-whisper", fmt(S.whisperBadge, { name: frame.author && frame.author.name })), li.firstChild);
        break;
      case "contact":
        li = systemLine(fmt(S.contactLinkedEvent, {
          name: frame.contact && frame.contact.name,
          by: frame.author && frame.author.name
        }));
        break;
      default:
        li = systemLine(fmt(S.unknownEvent, { kind: frame.kind }));
    }
    var time = el("time", "evt-time", clock(frame.at));
    if (frame.at) time.dateTime = frame.at;
    li.appendChild(time);
    if (frame.internal) markInternal(li);
    return li;
  }

  function markInternal(li) {
    li.classList.add("is-internal");
    var badge = el("span", "badge badge-note note-badge", S.internalNoteBadge);
    li.insertBefore(badge, li.firstChild);
  }

  function renderMessage(frame) {
    var role = (frame.author && frame.author.role) || "system";
    var li = el("li", "evt msg msg-" + role);
    var mine = role === "agent" && state.me && frame.author.name === state.me.name;
    if (mine) li.classList.add("msg-mine");
    var head = el("div", "msg-head");
    var who = role === "visitor" ? (frame.author.name || S.visitor) : role === "system" ? S.system : frame.author.name;
    head.appendChild(el("span", "msg-author", who));
    li.appendChild(head);
    li.appendChild(appendLinkified(el("div", "msg-body"), frame.body || ""));
    if (role === "agent" && !frame.internal) li.appendChild(el("span", "msg-status muted", ""));
    return li;
  }

  function ownPath(url) {
    var href = safeHref(url);
    if (href) {
      // Our own download path, served by this same server whatever host the link names.
      var parsed = new URL(href, window.location.href);
      if (/^\/api\/v1\/conversations\//.test(parsed.pathname)) href = parsed.pathname + parsed.search;
    }
    return href;
  }

  function renderAttachment(frame) {
    var role = (frame.author && frame.author.role) || "system";
    var li = el("li", "evt msg msg-" + role + " msg-attachment");
    var head = el("div", "msg-head");
    head.appendChild(el("span", "msg-author", (frame.author && frame.author.name) || S.visitor));
    li.appendChild(head);
    var body = el("div", "msg-body");
    var name = frame.filename || (frame.attachment && frame.attachment.filename) || S.attachmentEvent;
    var href = ownPath(frame.url || (frame.attachment && frame.attachment.url));
    var thumbnail = ownPath(frame.thumbnail_url || (frame.attachment && frame.attachment.thumbnail_url));
    if (href && thumbnail) {
      // Same session, same access check as the file: a plain <img> can load it.
      var preview = el("a", "attachment-thumbnail");
      preview.href = href;
      preview.target = "_blank";
      preview.rel = "noopener";
      var img = el("img");
      img.src = thumbnail;
      img.alt = fmt(S.attachmentPreview, { name: name });
      img.loading = "lazy";
      preview.appendChild(img);
      body.appendChild(preview);
    }
    var link = el(href ? "a" : "span", "attachment-link", "📎 " + name);
    if (href) {
      link.href = href;
      link.setAttribute("download", "");
      link.rel = "noopener";
    }
    body.appendChild(link);
    var size = frame.size || (frame.attachment && frame.attachment.size);
    if (size) body.appendChild(el("span", "muted attachment-size", " (" + Math.max(1, Math.round(size / 1024)) + " KB)"));
    li.appendChild(body);
    return li;
  }

  function renderSeen(chat) {
    var nodes = chat.log.querySelectorAll(".msg-agent:not(.is-internal)");
    nodes.forEach(function (node) {
      var status = node.querySelector(".msg-status");
      if (!status || node.classList.contains("is-pending")) return;
      status.textContent = Number(node.dataset.seq) <= chat.visitorReadSeq ? S.seenByVisitor : "";
    });
  }

  function scrollToEnd(chat) {
    var box = $("transcripts");
    box.scrollTop = box.scrollHeight;
    void chat;
  }

  // ---- lists ---------------------------------------------------------------

  function stateLabel(chat) {
    if (chat.offered) return S.offerState;
    var s = chat.summary.state;
    return s === "closed" ? S.closedState : s === "queued" ? S.queuedState : S.activeState;
  }

  function chatItem(chat, withAccept) {
    var li = el("li", "item" + (state.selected === chat.id ? " is-selected" : ""));
    li.dataset.conversation = chat.id;
    var open = el("button", "item-open");
    open.type = "button";
    open.setAttribute("aria-current", state.selected === chat.id ? "true" : "false");
    var top = el("span", "item-top");
    top.appendChild(el("span", "item-name", visitorName(chat)));
    if (chat.unread) {
      var badge = el("span", "badge badge-danger item-unread", String(chat.unread));
      badge.setAttribute("aria-label", fmt(S.unread, { n: chat.unread }));
      top.appendChild(badge);
    }
    open.appendChild(top);
    var meta = el("span", "item-meta muted", (chat.summary.department || "") + " · " + stateLabel(chat));
    open.appendChild(meta);
    if (chat.lastPreview) open.appendChild(el("span", "item-preview", chat.lastPreview));
    open.addEventListener("click", function () { select(chat.id); });
    li.appendChild(open);
    if (withAccept) li.appendChild(acceptButton(chat.id));
    return li;
  }

  function acceptButton(id, summary) {
    var button = el("button", "btn btn-success btn-small item-accept", S.accept);
    button.type = "button";
    button.addEventListener("click", function (ev) {
      ev.stopPropagation();
      if (summary) ensureChat(summary);
      accept(id);
    });
    return button;
  }

  // Lists are redrawn on every change; keyboard users must not lose their place.
  function keepingFocus(container, redraw) {
    var active = document.activeElement;
    var item = active && container.contains(active) ? active.closest("li[data-conversation]") : null;
    var role = item ? (active.classList.contains("item-accept") ? ".item-accept" : ".item-open") : null;
    var id = item ? item.dataset.conversation : null;
    redraw();
    if (!id) return;
    var again = container.querySelector('li[data-conversation="' + CSS.escape(id) + '"] ' + role);
    if (again) again.focus();
  }

  function renderLists() {
    keepingFocus($("workspace"), drawLists);
  }

  function drawLists() {
    var offers = $("offers");
    var mine = $("my-chats");
    offers.replaceChildren();
    mine.replaceChildren();
    var nOffers = 0;
    var nMine = 0;
    var unread = 0;
    state.chats.forEach(function (chat) {
      var offer = chat.mine && chat.offered && !chat.closed;
      // What needs the agent: unread messages, and an offer counts once even before its first message.
      unread += Math.max(chat.unread, offer ? 1 : 0);
      if (offer) {
        offers.appendChild(chatItem(chat, true));
        nOffers += 1;
      } else if (chat.mine && !chat.closed) {
        mine.appendChild(chatItem(chat, false));
        nMine += 1;
      } else if (state.selected === chat.id) {
        mine.appendChild(chatItem(chat, false));
      }
    });
    $("offers-empty").hidden = nOffers > 0;
    $("chats-empty").hidden = nMine > 0 || mine.children.length > 0;
    setCount($("offers-count"), nOffers);
    setCount($("chats-count"), nMine);
    var badge = unread;
    document.title = badge ? "(" + badge + ") " + state.baseTitle : state.baseTitle;
  }

  function setCount(node, n) {
    node.hidden = n === 0;
    node.textContent = String(n);
  }

  function renderQueue(frame) {
    var box = document.querySelector('.queue[data-department="' + CSS.escape(frame.department) + '"]');
    if (!box) return;
    var waiting = box.querySelector(".queue-waiting");
    waiting.textContent = frame.waiting ? fmt(S.waitingCount, { count: frame.waiting }) : S.waitingNone;
    waiting.className = "badge queue-waiting" + (frame.waiting ? (frame.oldest_wait_s > 120 ? " badge-danger" : " badge-warning") : "");
    // The figure was true when the frame came; the wait has grown since.
    var grown = frame.receivedAt ? (Date.now() - frame.receivedAt) / 1000 : 0;
    box.querySelector(".queue-oldest").textContent =
      frame.waiting && frame.oldest_wait_s !== null && frame.oldest_wait_s !== undefined
        ? fmt(S.oldestWait, { wait: duration(frame.oldest_wait_s + grown) }) : "";
    var list = box.querySelector(".queue-items");
    keepingFocus(list, function () { drawQueueItems(list, frame); });
  }

  function drawQueueItems(list, frame) {
    list.replaceChildren();
    (frame.conversations || []).forEach(function (summary) {
      var chat = state.chats.get(summary.id);
      if (chat && chat.mine) return;
      var li = el("li", "item");
      li.dataset.conversation = summary.id;
      var open = el("button", "item-open");
      open.type = "button";
      var top = el("span", "item-top");
      top.appendChild(el("span", "item-name", (summary.visitor && summary.visitor.name) || S.anonymousVisitor));
      open.appendChild(top);
      var since = Date.parse(summary.created_at);
      var meta = [];
      if (!isNaN(since)) meta.push(duration((Date.now() - since) / 1000));
      if (summary.page && summary.page.title) meta.push(summary.page.title);
      open.appendChild(el("span", "item-meta muted", meta.join(" · ")));
      open.addEventListener("click", function () { watch(summary); });
      li.appendChild(open);
      li.appendChild(acceptButton(summary.id, summary));
      list.appendChild(li);
    });
  }

  // ---- the selected chat ---------------------------------------------------

  function watch(summary) {
    var chat = ensureChat(summary);
    if (chat.lastSeq === 0) send({ type: "resume", conversation: chat.id, after_seq: 0 });
    select(chat.id);
  }

  function select(id) {
    var chat = chatFor(id);
    if (!chat) return;
    var previous = chatFor(state.selected);
    var reply = $("reply");
    if (previous) {
      previous.draft = reply.value;
      previous.draftInternal = $("internal").checked;
      previous.log.hidden = true;
    }
    state.selected = id;
    chat.log.hidden = false;
    chat.unread = 0;
    $("chat-empty").hidden = true;
    $("chat-view").hidden = false;
    reply.value = chat.draft;
    $("internal").checked = chat.draftInternal;
    applyNoteMode();
    closeCanned();
    renderHeader(chat);
    renderTyping();
    renderLists();
    scrollToEnd(chat);
    markSelectedRead();
    loadPanel(id);
    reply.focus();
  }

  function renderHeader(chat) {
    if (!chat) return;
    $("chat-title").textContent = visitorName(chat);
    $("chat-department").textContent = chat.summary.department || "";
    var badge = $("chat-state");
    badge.textContent = stateLabel(chat);
    badge.className = "badge" + (chat.closed ? "" : chat.summary.state === "queued" || chat.offered ? " badge-warning" : " badge-success");
    var ticket = $("chat-ticket");
    if (chat.ticket && chat.ticket.number) {
      ticket.hidden = false;
      ticket.textContent = chat.ticket.number;
      ticket.href = safeHref(config.ticketUrl.replace("{number}", encodeURIComponent(chat.ticket.number))) || "#";
    } else {
      ticket.hidden = true;
    }
    var canAccept = !chat.closed && (chat.summary.state === "queued" || chat.offered);
    $("action-accept").hidden = !canAccept;
    $("action-transfer").disabled = chat.closed;
    $("action-close").disabled = chat.closed;
    $("action-ticket").disabled = !!chat.ticket;
    $("send").disabled = false;
    $("attach").disabled = chat.closed;
  }

  function renderTyping() {
    var chat = chatFor(state.selected);
    $("typing").textContent = chat && chat.visitorTyping ? fmt(S.typing, { name: visitorName(chat) }) : "";
  }

  function markSelectedRead() {
    var chat = chatFor(state.selected);
    if (!chat || document.hidden) return;
    chat.unread = 0;
    if (chat.lastSeq > chat.readSent && send({ type: "read", conversation: chat.id, seq: chat.lastSeq })) {
      chat.readSent = chat.lastSeq;
    }
    renderLists();
  }

  // ---- phone calls: a `call` frame pops the caller (the fragment is the server's) ----

  var CALL_PLACEHOLDER = "00000000-0000-0000-0000-000000000000";
  var callRequests = {};

  function onCall(frame) {
    var call = frame.call || {};
    if (typeof call.id !== "string" || !/^[0-9a-f-]{36}$/.test(call.id)) return;
    var box = $("call-pops");
    if (!box) return;
    var slot = box.querySelector('[data-call-slot="' + call.id + '"]');
    if (!slot) {
      slot = el("div", "call-slot");
      slot.setAttribute("data-call-slot", call.id);
      // Until the record arrives, what the frame says (built as text, never HTML).
      var who = call.contact && call.contact.name ? call.contact.name : S.unknownCaller || "?";
      slot.appendChild(el("p", "call-pop call-pop-loading", who + " · " + call.phone));
      box.prepend(slot);
      announce(fmt(S.callFrom || "Call from %(who)s", { who: who }));
    }
    slot.setAttribute("data-call-state", call.state);
    loadCall(call.id, slot);
  }

  function loadCall(id, slot) {
    if (!window.htmx) return;
    var url = config.callUrl.replace(CALL_PLACEHOLDER, encodeURIComponent(id));
    // Two frames in a row (ringing, answered): the later read wins, it is the newer state.
    callRequests[id] = (callRequests[id] || 0) + 1;
    var mine = callRequests[id];
    fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (html === null || mine !== callRequests[id] || !slot.isConnected) return;
        window.htmx.swap(slot, html, { swapStyle: "innerHTML" });
      })
      .catch(function () { /* the next frame or a reload shows it */ });
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("[data-dismiss-call]") : null;
    if (!button) return;
    var slot = button.closest("[data-call-slot]");
    if (slot) slot.remove();
  });

  function loadPanel(id) {
    var panel = $("panel");
    var url = config.panelUrl.replace(PANEL_PLACEHOLDER, encodeURIComponent(id));
    panel.setAttribute("aria-busy", "true");
    if (window.htmx) {
      window.htmx.ajax("GET", url, { target: "#panel", swap: "innerHTML" }).then(function () {
        panel.setAttribute("aria-busy", "false");
      }, function () {
        panel.setAttribute("aria-busy", "false");
      });
    }
  }

  // A slow answer for a chat the agent already left must not stay beside another one.
  // (htmx may drop a request while one to the same target is in flight; ask again, a few times.)
  var panelRetries = 0;
  document.body.addEventListener("htmx:afterSwap", function (ev) {
    if (!ev.detail || !ev.detail.target || ev.detail.target.id !== "panel") return;
    var shown = $("panel").querySelector("[data-conversation]");
    if (!shown || !state.selected || shown.dataset.conversation === state.selected) {
      panelRetries = 0;
      return;
    }
    if (panelRetries < 3) {
      panelRetries += 1;
      window.setTimeout(function () { loadPanel(state.selected); }, 100 * panelRetries);
    }
  });

  document.body.addEventListener("htmx:responseError", function (ev) {
    if (ev.detail && ev.detail.target && ev.detail.target.id === "panel") {
      var xhr = ev.detail.xhr;
      // The server renders an escaped error fragment (403/404); show it.
      if (xhr && xhr.responseText) {
        window.htmx.swap("#panel", xhr.responseText, { swapStyle: "innerHTML" });
      } else {
        $("panel").replaceChildren(el("p", "panel-error", S.panelFailed));
      }
    }
  });

  // ---- actions -------------------------------------------------------------

  function accept(id) {
    state.acceptedByMe.add(id);
    // The answer (`assigned`) comes at once, or never when it answered an offer we already had.
    window.setTimeout(function () { state.acceptedByMe.delete(id); }, 10000);
    var chat = chatFor(id);
    if (chat) chat.offered = false;
    sendOrQueue({ type: "accept", conversation: id });
    if (chat) {
      if (chat.lastSeq === 0) send({ type: "resume", conversation: id, after_seq: 0 });
      select(id);
    } else {
      renderLists();
    }
  }

  function sendReply() {
    var chat = chatFor(state.selected);
    var reply = $("reply");
    var body = reply.value.replace(/\s+$/, "");
    if (!chat || !body.trim()) return;
    var internal = $("internal").checked;
    var clientId = uuid4();
    var frame = { type: "message", conversation: chat.id, client_id: clientId, body: body, internal: internal };
    var node = renderMessage({ author: { role: "agent", name: state.me ? state.me.name : S.you }, body: body, internal: internal });
    node.classList.add("is-pending");
    if (internal) markInternal(node);
    var status = node.querySelector(".msg-status") || node.appendChild(el("span", "msg-status muted"));
    status.textContent = S.sending;
    chat.pending.set(clientId, node);
    chat.log.appendChild(node);
    scrollToEnd(chat);
    sendOrQueue(frame);
    reply.value = "";
    chat.draft = "";
    storeDraft(chat.id, "");
    stopTyping(chat);
    if (!internal) chat.offered = false;
    renderLists();
  }

  var typingState = { chat: null, sentAt: 0, idleTimer: null };

  function noteTyping() {
    var chat = chatFor(state.selected);
    if (!chat || chat.closed || $("internal").checked) return;
    var now = Date.now();
    if (typingState.chat !== chat.id || now - typingState.sentAt > 3000) {
      if (send({ type: "typing", conversation: chat.id, active: true })) {
        typingState.chat = chat.id;
        typingState.sentAt = now;
      }
    }
    window.clearTimeout(typingState.idleTimer);
    typingState.idleTimer = window.setTimeout(function () { stopTyping(chat); }, TYPING_IDLE_MS);
  }

  function stopTyping(chat) {
    window.clearTimeout(typingState.idleTimer);
    if (chat && typingState.chat === chat.id) {
      send({ type: "typing", conversation: chat.id, active: false });
      typingState.chat = null;
      typingState.sentAt = 0;
    }
  }

  function applyNoteMode() {
    var on = $("internal").checked;
    $("composer").classList.toggle("is-note", on);
  }

  function openDialog(id) {
    var dialog = $(id);
    if (typeof dialog.showModal === "function") dialog.showModal();
    else dialog.setAttribute("open", "");
    return dialog;
  }

  document.querySelectorAll("[data-close-dialog]").forEach(function (button) {
    button.addEventListener("click", function () { button.closest("dialog").close(); });
  });

  $("action-accept").addEventListener("click", function () { if (state.selected) accept(state.selected); });
  $("action-transfer").addEventListener("click", function () { if (state.selected) openDialog("transfer-dialog"); });
  $("action-close").addEventListener("click", function () {
    if (!state.selected) return;
    $("close-reason").value = "";
    openDialog("close-dialog");
  });
  $("action-ticket").addEventListener("click", function () {
    if (!state.selected) return;
    $("ticket-subject").value = "";
    openDialog("ticket-dialog");
  });

  $("transfer-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var id = state.selected;
    var target = this.querySelector('input[name="target"]:checked').value;
    var frame = { type: "transfer", conversation: id };
    if (target === "agent") frame.agent = $("transfer-agent").value;
    else frame.department = $("transfer-department").value;
    sendOrQueue(frame);
    $("transfer-dialog").close();
    toast(S.transferDone);
  });
  $("close-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    sendOrQueue({ type: "close", conversation: state.selected, reason: $("close-reason").value.trim() });
    $("close-dialog").close();
  });
  $("ticket-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var frame = { type: "to_ticket", conversation: state.selected, priority: $("ticket-priority").value };
    var subject = $("ticket-subject").value.trim();
    if (subject) frame.subject = subject;
    sendOrQueue(frame);
    $("ticket-dialog").close();
  });

  // ---- files ----------------------------------------------------------------
  // Uploaded over HTTP with the session cookie and the CSRF token (an XHR, for
  // its progress); the socket then delivers the `attachment` event like any other.

  function uploadFile(file) {
    var chat = chatFor(state.selected);
    if (!chat || chat.closed || !file) return;
    if (config.maxUploadBytes && file.size > config.maxUploadBytes) {
      toast(fmt(S.uploadTooLarge, { name: file.name, size: Math.round(config.maxUploadBytes / 1048576) + " MB" }), "error");
      return;
    }
    var body = new FormData();
    body.append("file", file, file.name);
    if ($("internal").checked) body.append("internal", "true");
    var xhr = new XMLHttpRequest();
    var progress = $("attach-progress");
    xhr.open("POST", config.attachmentUrl.replace("{id}", encodeURIComponent(chat.id)));
    xhr.setRequestHeader("X-CSRFToken", $("composer").querySelector("input[name=csrfmiddlewaretoken]").value);
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) progress.value = Math.round((ev.loaded / ev.total) * 100);
    });
    function done() {
      progress.hidden = true;
      $("attach").disabled = false;
      $("composer-hint").textContent = "";
    }
    xhr.addEventListener("load", function () {
      done();
      if (xhr.status === 201) return;
      var detail = "HTTP " + xhr.status;
      try { detail = JSON.parse(xhr.responseText).error.detail || detail; } catch (e) { /* keep the status */ }
      toast(fmt(S.uploadFailed, { name: file.name, detail: detail }), "error");
    });
    xhr.addEventListener("error", function () {
      done();
      toast(fmt(S.uploadFailed, { name: file.name, detail: S.uploadNetwork }), "error");
    });
    progress.value = 0;
    progress.hidden = false;
    $("attach").disabled = true;
    $("composer-hint").textContent = fmt(S.uploading, { name: file.name });
    xhr.send(body);
  }

  $("attach").addEventListener("click", function () { $("attach-file").click(); });
  $("attach-file").addEventListener("change", function () {
    var file = this.files && this.files[0];
    this.value = "";
    uploadFile(file);
  });
  $("composer").addEventListener("dragover", function (ev) {
    if (ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types, "Files") >= 0) {
      ev.preventDefault();
      this.classList.add("is-dropping");
    }
  });
  $("composer").addEventListener("dragleave", function () { this.classList.remove("is-dropping"); });
  $("composer").addEventListener("drop", function (ev) {
    this.classList.remove("is-dropping");
    if (!ev.dataTransfer || !ev.dataTransfer.files.length) return;
    ev.preventDefault();
    Array.prototype.forEach.call(ev.dataTransfer.files, uploadFile);
  });

  $("composer").addEventListener("submit", function (ev) {
    ev.preventDefault();
    sendReply();
  });
  $("internal").addEventListener("change", applyNoteMode);

  // The listbox also answers the keyboard when it has the focus itself.
  $("canned-list").addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      moveCanned(ev.key === "ArrowDown" ? 1 : -1);
    } else if (ev.key === "Enter" && canned.items.length) {
      ev.preventDefault();
      insertCanned(canned.active);
    } else if (ev.key === "Escape") {
      ev.preventDefault();
      closeCanned();
      $("reply").focus();
    }
  });

  $("reply").addEventListener("keydown", function (ev) {
    if (cannedOpen()) {
      if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
        ev.preventDefault();
        moveCanned(ev.key === "ArrowDown" ? 1 : -1);
        return;
      }
      if (ev.key === "Enter" || ev.key === "Tab") {
        if (canned.items.length) {
          ev.preventDefault();
          insertCanned(canned.active);
          return;
        }
      }
      if (ev.key === "Escape") {
        ev.preventDefault();
        closeCanned();
        return;
      }
    }
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
      ev.preventDefault();
      sendReply();
    }
  });
  $("reply").addEventListener("input", function () {
    var chat = chatFor(state.selected);
    if (chat) {
      chat.draft = this.value;
      storeDraft(chat.id, this.value);
    }
    noteTyping();
    updateCanned();
  });

  // ---- presence ------------------------------------------------------------

  function setPresenceControl(status, accepting) {
    var select = $("presence");
    if (status) select.value = status;
    $("presence-dot").dataset.status = status || select.value;
    if (accepting !== undefined && accepting !== null) $("accepting").checked = !!accepting;
  }

  $("presence").addEventListener("change", function () {
    send({ type: "presence", status: this.value, accepting: $("accepting").checked });
  });
  $("accepting").addEventListener("change", function () {
    send({ type: "presence", status: $("presence").value, accepting: this.checked });
  });

  // ---- canned responses ----------------------------------------------------

  var canned = { items: [], active: 0, query: null, timer: null, seq: 0 };

  function cannedOpen() { return !$("canned").hidden; }

  function closeCanned() {
    $("canned").hidden = true;
    $("reply").removeAttribute("aria-activedescendant");
    $("canned-list").removeAttribute("aria-activedescendant");
    canned.items = [];
    canned.query = null;
  }

  function updateCanned() {
    var value = $("reply").value;
    var match = /^\/([\w-]*)$/.exec(value);
    if (!match || !state.selected) {
      closeCanned();
      return;
    }
    var query = match[1];
    if (query === canned.query) return;
    canned.query = query;
    window.clearTimeout(canned.timer);
    canned.timer = window.setTimeout(function () { fetchCanned(query); }, 120);
  }

  function fetchCanned(query) {
    var mySeq = ++canned.seq;
    var url = config.cannedUrl + "?q=" + encodeURIComponent(query) + "&conversation=" + encodeURIComponent(state.selected);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { results: [] }; })
      .then(function (data) {
        if (mySeq !== canned.seq || canned.query !== query) return;
        showCanned(data.results || []);
      })
      .catch(function () { /* the list just stays closed */ });
  }

  function showCanned(results) {
    var list = $("canned-list");
    list.replaceChildren();
    canned.items = results;
    canned.active = 0;
    if (!results.length) {
      var none = el("li", "canned-none muted", S.cannedNone);
      none.setAttribute("role", "option");
      none.setAttribute("aria-disabled", "true");
      list.appendChild(none);
    }
    results.forEach(function (item, index) {
      var li = el("li", "canned-item");
      li.id = "canned-" + index;
      li.setAttribute("role", "option");
      li.appendChild(el("span", "canned-shortcut", "/" + item.shortcut));
      li.appendChild(el("span", "canned-title", item.title));
      li.appendChild(el("span", "canned-body muted", item.body));
      li.addEventListener("mousedown", function (ev) {
        ev.preventDefault();
        insertCanned(index);
      });
      list.appendChild(li);
    });
    $("canned").hidden = false;
    highlightCanned();
  }

  function moveCanned(step) {
    if (!canned.items.length) return;
    canned.active = (canned.active + step + canned.items.length) % canned.items.length;
    highlightCanned();
  }

  function highlightCanned() {
    var options = $("canned-list").querySelectorAll(".canned-item");
    options.forEach(function (option, index) {
      option.setAttribute("aria-selected", index === canned.active ? "true" : "false");
    });
    if (options[canned.active]) {
      $("reply").setAttribute("aria-activedescendant", options[canned.active].id);
      $("canned-list").setAttribute("aria-activedescendant", options[canned.active].id);
      options[canned.active].scrollIntoView({ block: "nearest" });
    }
  }

  function insertCanned(index) {
    var item = canned.items[index];
    if (!item) return;
    var reply = $("reply");
    reply.value = item.body;
    closeCanned();
    var chat = chatFor(state.selected);
    if (chat) {
      chat.draft = reply.value;
      storeDraft(chat.id, reply.value);
    }
    reply.focus();
    reply.setSelectionRange(reply.value.length, reply.value.length);
  }

  // ---- notifications -------------------------------------------------------

  function beep() {
    var ctx = state.sound;
    if (!ctx) return;
    if (ctx.state === "suspended") ctx.resume();
    var now = ctx.currentTime;
    [0, 0.16].forEach(function (offset, i) {
      var osc = ctx.createOscillator();
      var gain = ctx.createGain();
      osc.type = "sine";
      osc.frequency.value = i ? 1175 : 880;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.25, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.14);
      osc.connect(gain).connect(ctx.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.15);
    });
    window.__consoleBeeps = (window.__consoleBeeps || 0) + 1;
  }

  function notify(title, body, conversationId) {
    announce(title + (body ? ": " + body : ""));
    beep();
    if (!document.hidden) return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var n = new Notification(title, { body: String(body || "").slice(0, 140), tag: "chat-" + conversationId });
      n.onclick = function () {
        window.focus();
        select(conversationId);
        n.close();
      };
      window.__consoleNotifications = (window.__consoleNotifications || 0) + 1;
    } catch (e) { /* some browsers allow notifications only from a service worker */ }
  }

  $("enable-sound").addEventListener("click", function () {
    var button = this;
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (Ctx && !state.sound) state.sound = new Ctx();
    if (state.sound && state.sound.state === "suspended") state.sound.resume();
    beep();
    button.setAttribute("aria-pressed", "true");
    button.textContent = S.soundOn;
    if ("Notification" in window && Notification.permission === "default") {
      Notification.requestPermission().then(function (p) {
        if (p === "denied") toast(S.notificationsBlocked);
      });
    }
  });

  // ---- start ---------------------------------------------------------------

  setConnection("reconnecting");
  renderLists();
  connect();
  window.setInterval(function () {
    state.queues.forEach(renderQueue);
  }, 15000);
  window.chatportalConsole = { state: state, forceReconnect: forceReconnect };
})();
