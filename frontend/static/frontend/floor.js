// The supervisor watching one chat (/console/floor/<id>/): read-only and live.
// It opens the supervisor's own agent socket (session cookie), follows the
// chat with `resume` (no participant, no send box) and whispers with the
// `whisper` frame; every event comes back through the log, in seq order.
// Text goes into the page as text nodes only.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("floor-config").textContent);
  var S = JSON.parse(document.getElementById("floor-strings").textContent);
  var log = document.getElementById("floor-log");
  var status = document.getElementById("floor-connection");
  var form = document.getElementById("floor-whisper");
  var body = document.getElementById("floor-whisper-body");
  var problem = document.getElementById("floor-whisper-error");
  var lastSeq = 0;
  var socket = null;
  var retry = 500;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text != null) node.textContent = String(text);
    return node;
  }

  function fmt(text, vars) {
    return text.replace(/%\((\w+)\)s/g, function (_m, name) {
      return vars && vars[name] != null ? String(vars[name]) : "";
    });
  }

  function line(frame) {
    var author = frame.author || {};
    switch (frame.kind) {
      case "message":
        return [author.name || (author.role === "visitor" ? S.visitor : S.system), frame.body];
      case "whisper":
        return [fmt(S.whisperFrom, { name: author.name || "" }), frame.body];
      case "attachment":
        return [author.name || S.visitor, frame.filename];
      case "assigned":
        return [S.system, fmt(S.assigned, { name: frame.agent && frame.agent.name })];
      case "transferred":
        return [S.system, frame.to && frame.to.agent ? fmt(S.transferred, { name: frame.to.agent.name })
          : fmt(S.transferred, { name: frame.to && frame.to.department })];
      case "closed":
        return [S.system, fmt(S.closed, { by: frame.by })];
      case "rated":
        return [S.system, fmt(S.rated, { score: frame.score }) + (frame.comment ? " — " + frame.comment : "")];
      default:
        return [S.system, frame.kind];
    }
  }

  function render(frame) {
    if (frame.conversation !== config.conversation || frame.seq <= lastSeq) return;
    lastSeq = frame.seq;
    var parts = line(frame);
    var li = el("li", "floor-evt floor-kind-" + frame.kind + (frame.internal ? " is-internal" : ""));
    li.dataset.seq = frame.seq;
    li.dataset.kind = frame.kind;
    li.appendChild(el("strong", "floor-who", parts[0]));
    li.appendChild(el("span", "floor-body", parts[1] == null ? "" : parts[1]));
    if (frame.internal) li.appendChild(el("span", "badge badge-note", S.internal));
    log.appendChild(li);
    li.scrollIntoView({ block: "nearest" });
  }

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + config.socketPath);
    socket.onmessage = function (message) {
      var frame = JSON.parse(message.data);
      if (frame.type === "welcome") {
        retry = 500;
        setStatus("connected", S.connected);
        socket.send(JSON.stringify({ type: "resume", conversation: config.conversation, after_seq: lastSeq }));
      } else if (frame.type === "event") {
        render(frame);
      } else if (frame.type === "ack") {
        body.value = "";
        problem.hidden = true;
      } else if (frame.type === "error" && (!frame.conversation || frame.conversation === config.conversation)) {
        problem.textContent = frame.detail || frame.code;
        problem.hidden = false;
      }
    };
    socket.onclose = function () {
      setStatus("reconnecting", S.reconnecting);
      window.setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = body.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "whisper", conversation: config.conversation, body: text }));
  });

  // The client keeps the socket's presence connection alive (docs/protocol.md §3).
  window.setInterval(function () {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "ping" }));
  }, config.pingEveryMs);

  connect();
})();
