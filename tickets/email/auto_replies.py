"""Auto-replies and bounces: mail no person wrote, which must never open or reopen a ticket.

`automatic_reason(message, sender)` names the signature it found, or ""
for mail a person wrote. Recognised:

- RFC 3834 `Auto-Submitted` other than `no` (Gmail's vacation responder
  says `auto-replied`), `X-Autoreply`, `X-Autorespond`, `X-Autoresponder`;
- Exchange/Outlook: `X-Auto-Response-Suppress` asking for no reply to
  itself (`All`, `OOF`, `AutoReply`; what out-of-office replies carry),
  `X-MS-Exchange-Inbox-Rules-Loop` (a mailbox rule sent it), and the
  subject prefixes "Automatic reply:", "Autosvar:", "Out of Office:",
  "Răspuns automat:", "Автоответ:", "Автоматический ответ:";
- `Precedence: auto_reply` or `junk`;
- bounces: a null Return-Path (`<>`), MAILER-DAEMON or postmaster as the
  sender, or a `multipart/report` (delivery and read reports).

`Precedence: bulk` or `list` alone is not automatic: a person's reply
relayed through a mailing list or a Google group carries it.
"""

from __future__ import annotations

import re
from email.message import Message

_SUBJECT_PREFIXES = re.compile(
    r"^\s*(?:automatic reply|auto(?:matic)?[ -]?reply|autosvar|autoresponse|"
    r"out of (?:the )?office(?: autoreply)?|abwesenheitsnotiz|réponse automatique|"
    r"răspuns automat|raspuns automat|автоответ|автоматический ответ)\s*:",
    re.IGNORECASE,
)
_SUPPRESS_TOKENS = frozenset({"all", "oof", "autoreply"})
_BOUNCE_SENDERS = ("mailer-daemon@", "postmaster@")


def _header(message: Message, name: str) -> str:
    try:
        values = [str(value) for value in message.get_all(name) or []]
    except Exception:  # a header the policy cannot parse (its errors vary by defect)
        return ""
    # The value may end up in a log line and the inbound record: no NUL.
    return " ".join(" ".join(value.split()) for value in values).replace("\x00", "").strip()


def automatic_reason(message: Message, sender: str) -> str:
    auto_submitted = _header(message, "Auto-Submitted").lower()
    if auto_submitted and auto_submitted.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto_submitted[:60]}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        value = _header(message, name).lower()
        if value and value not in {"no", "false", "0"}:
            return f"{name}: {value[:60]}"
    suppress = _header(message, "X-Auto-Response-Suppress")
    if _SUPPRESS_TOKENS & {token.strip().lower() for token in suppress.split(",")}:
        return f"X-Auto-Response-Suppress: {suppress[:60]}"
    if _header(message, "X-MS-Exchange-Inbox-Rules-Loop"):
        return "X-MS-Exchange-Inbox-Rules-Loop"
    precedence = _header(message, "Precedence").lower()
    if precedence in {"auto_reply", "junk"}:
        return f"Precedence: {precedence}"
    return_path = _header(message, "Return-Path")
    if return_path and return_path.replace(" ", "") == "<>":
        return "null Return-Path (a bounce)"
    if sender.startswith(_BOUNCE_SENDERS):
        return f"sender {sender.partition('@')[0]} (a bounce)"
    if message.get_content_type() == "multipart/report":
        return "multipart/report (a delivery or read report)"
    subject = _header(message, "Subject")
    match = _SUBJECT_PREFIXES.match(subject)
    if match:
        return f"subject {match.group(0).strip()!r}"
    return ""
