"""Tickets on the CRM record and their event log.

Like a conversation, a ticket's history is a table: every change appends a
`TicketEvent` with the next gapless `seq` in the same transaction, and the
portal, the console and the CRM timeline are renders of it.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from chat.models import Conversation
from crm.gdpr import REDACTED
from crm.models import Asset, CallRecord, Contact, Organization, SlaPlan
from foundation.public_url import offline_base
from queues.models import Department

NUMBER_PREFIX = "T-"
FIRST_NUMBER = 1001


def new_reply_token() -> str:
    # 128 bits in the Reply-To address: guessing one threads nothing.
    return secrets.token_urlsafe(16)


class TicketNumber(models.Model):
    """The one-row counter behind `T-1001`, `T-1002`, …

    Taken with one `UPDATE … RETURNING` inside the creating transaction: the
    row lock serializes concurrent creations, and a rolled-back creation
    rolls the counter back too, so numbers stay sequential without gaps.
    """

    last_value = models.PositiveIntegerField(default=FIRST_NUMBER - 1)

    def __str__(self) -> str:
        return f"{NUMBER_PREFIX}{self.last_value}"


class Ticket(models.Model):
    class Status(models.TextChoices):
        NEW = "new", _("new")
        OPEN = "open", _("open")
        PENDING = "pending", _("pending (waiting on the customer)")
        ON_HOLD = "on_hold", _("on hold (waiting on a third party)")
        SOLVED = "solved", _("solved")
        CLOSED = "closed", _("closed")

    class Priority(models.TextChoices):
        LOW = "low", _("low")
        NORMAL = "normal", _("normal")
        HIGH = "high", _("high")
        URGENT = "urgent", _("urgent")

    class Channel(models.TextChoices):
        CHAT = "chat", _("chat")
        EMAIL = "email", _("e-mail")
        PHONE = "phone", _("phone")
        WEB = "web", _("web")
        PORTAL = "portal", _("portal")

    OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING, Status.ON_HOLD)
    DONE_STATUSES = (Status.SOLVED, Status.CLOSED)
    # The resolution clock does not run in these.
    PAUSED_STATUSES = (Status.PENDING, Status.SOLVED)
    # Escalation order: a breach moves a ticket one step up.
    PRIORITY_ORDER = (Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT)

    number = models.CharField(_("number"), max_length=20, unique=True, editable=False)
    # The id for links and sockets: numbers are sequential, so never the only key.
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Empty when the sender gave none (an e-mail, a chat with no visitor text):
    # stored as data, named in the reader's language by `display_subject`.
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.NEW, db_index=True
    )
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.NORMAL
    )
    # Sorting by priority in the database needs a number, not the label.
    priority_rank = models.PositiveSmallIntegerField(default=1, editable=False)
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    # Null only for a sender nobody knows (an anonymous chat, an unknown e-mail).
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    # What the unknown sender typed (pre-chat form, From: header), unverified.
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    requester_email = models.CharField(_("requester e-mail"), max_length=254, blank=True)
    department = models.ForeignKey(Department, on_delete=models.PROTECT, related_name="tickets")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    # One chat becomes at most one ticket.
    conversation = models.OneToOneField(
        Conversation, null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket"
    )
    sla_plan = models.ForeignKey(
        SlaPlan, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    # The phone call it was opened from: one call becomes at most one ticket.
    call = models.OneToOneField(
        CallRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="ticket"
    )
    # The unit it is about; its product and product line are what the KPIs group by.
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets"
    )
    first_response_due = models.DateTimeField(_("first response due"), null=True, blank=True)
    resolution_due = models.DateTimeField(_("resolution due"), null=True, blank=True)
    first_responded_at = models.DateTimeField(null=True, blank=True)
    solved_at = models.DateTimeField(null=True, blank=True)
    # Business seconds from opening to solving, paused time taken out, fixed when
    # the ticket is solved (tickets.sla.resolution_seconds), cleared when it
    # reopens: the KPI resolution time (docs/kpis.md).
    resolution_s = models.FloatField(null=True, blank=True)
    # When the resolution clock last stopped (`pending` on the customer, or
    # `solved`); reopening moves the resolution due later by the pause.
    paused_since = models.DateTimeField(null=True, blank=True)
    # Set by the SLA sweep so that each warning and breach is announced once.
    first_response_warned_at = models.DateTimeField(null=True, blank=True)
    first_response_breached_at = models.DateTimeField(null=True, blank=True)
    resolution_warned_at = models.DateTimeField(null=True, blank=True)
    resolution_breached_at = models.DateTimeField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    # The customer's satisfaction, from the link in the "solved" mail (tickets.rating);
    # a second rating replaces the first.
    rating_score = models.PositiveSmallIntegerField(_("rating"), null=True, blank=True)
    rating_comment = models.TextField(_("rating comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"), null=True, blank=True)
    reply_token = models.CharField(
        max_length=40, unique=True, default=new_reply_token, editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["department", "status"], name="tickets_dept_status_idx"),
            models.Index(fields=["contact", "status"], name="tickets_contact_status_idx"),
            models.Index(fields=["organization", "status"], name="tickets_org_status_idx"),
            models.Index(fields=["assignee", "status"], name="tickets_assignee_status_idx"),
            # The KPIs read tickets by the day they were opened and the day they were solved.
            models.Index(fields=["created_at"], name="tickets_created_idx"),
            models.Index(fields=["solved_at"], name="tickets_solved_idx"),
            models.Index(fields=["rated_at"], name="tickets_rated_idx"),
            # The SLA sweep reads only running clocks.
            models.Index(
                fields=["resolution_due"],
                name="tickets_open_due_idx",
                condition=Q(status__in=["new", "open", "on_hold"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.display_subject}"

    def save(self, *args, **kwargs):
        self.priority_rank = self.PRIORITY_ORDER.index(self.priority)
        super().save(*args, **kwargs)

    @property
    def display_subject(self) -> str:
        return subject_for_display(
            self.subject, channel=self.channel, requester_name=self.requester_name
        )

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def portal_path(self) -> str:
        # The portal's ticket page (`portal_ticket` in tickets.portal.views).
        return f"/portal/tickets/{self.number}/"

    @property
    def portal_url(self) -> str:
        return offline_base() + self.portal_path

    @property
    def requester_display(self) -> str:
        if self.contact_id is not None:
            return self.contact.name
        return self.requester_name or self.requester_email


# What customers read (portal, widget, e-mails); agents see the choice labels.
_CUSTOMER_LABELS = {
    Ticket.Status.NEW: _("We're working on it"),
    Ticket.Status.OPEN: _("We're working on it"),
    Ticket.Status.PENDING: _("Waiting for your reply"),
    Ticket.Status.ON_HOLD: _("Waiting on a third party"),
    Ticket.Status.SOLVED: _("Solved"),
    Ticket.Status.CLOSED: _("Closed"),
}


def subject_for_display(subject: str, *, channel: str = "", requester_name: str = "") -> str:
    """A ticket's subject for people, in the active language.

    Tickets store no words of ours: an e-mail without a subject, or a chat
    whose visitor wrote nothing, keeps an empty subject, named here when it
    is shown. The API returns the stored value.
    """
    if subject == REDACTED:
        return gettext("[erased]")
    if subject:
        return subject
    if channel == Ticket.Channel.CHAT:
        return gettext("Chat with %(name)s") % {"name": requester_name or gettext("a visitor")}
    if channel == Ticket.Channel.PHONE and requester_name:
        return gettext("Phone call from %(caller)s") % {"caller": requester_name}
    return gettext("(no subject)")


def message_text_for_display(payload: object, *, kind: str = "", channel: str = "") -> str:
    """The text of a ticket message (opening message, reply, note), in the active language.

    An empty body is stored as such (an e-mail with nothing but files, or
    with no text at all); files and refused files speak for themselves,
    anything else reads as "(no text)".
    """
    data = payload if isinstance(payload, dict) else {}
    body = data.get("body")
    if body == REDACTED:
        return gettext("[erased]")
    if isinstance(body, str) and body:
        return body
    if data.get("attachments") or data.get("refused_attachments"):
        return ""
    if kind == TicketEvent.Kind.CREATED and channel == Ticket.Channel.CHAT:
        return gettext("(The chat had no message from the visitor.)")
    return gettext("(no text)")


def call_line(payload: dict[str, Any]) -> dict[str, Any] | None:
    """The phone call a ticket was opened from, as its `created` event kept it."""
    call = payload.get("call")
    if not isinstance(call, dict):
        return None
    seconds = call.get("duration_s")
    duration = (
        f"{seconds // 60}:{seconds % 60:02d}" if isinstance(seconds, int) and seconds >= 0 else ""
    )
    started = call.get("started_at")
    try:
        started_at = datetime.datetime.fromisoformat(started) if started else None
    except (TypeError, ValueError):
        started_at = None
    return {
        "phone": str(call.get("phone") or ""),
        "direction": str(call.get("direction") or ""),
        "started_at": started_at,
        "duration": duration,
        "note": str(call.get("note") or ""),
    }


def customer_status_label(status: str) -> str:
    """The customer-facing label of a status, in the active language."""
    label = _CUSTOMER_LABELS.get(status)
    return str(label) if label is not None else gettext("Unknown")


def internal_status_label(status: str) -> str:
    try:
        return str(Ticket.Status(status).label)
    except ValueError:
        return gettext("Unknown")


class TicketEvent(models.Model):
    class Kind(models.TextChoices):
        CREATED = "created", _("created")
        REPLY = "reply", _("reply")
        NOTE = "note", _("internal note")
        STATUS = "status", _("status changed")
        PRIORITY = "priority", _("priority changed")
        ASSIGNEE = "assignee", _("assignee changed")
        DEPARTMENT = "department", _("department changed")
        TRANSCRIPT = "transcript", _("chat transcript")
        SLA_WARNING = "sla_warning", _("SLA warning")
        SLA_BREACH = "sla_breach", _("SLA breach")
        # Internal: the outbox gave up on a mail of this ticket.
        EMAIL_FAILED = "email_failed", _("e-mail not delivered")
        # The unit the ticket is about was named or changed.
        ASSET = "asset", _("unit changed")
        # Internal: an agent linked the ticket to a CRM contact: {"contact": {"id", "name"}, "old"}.
        CONTACT = "contact", _("linked to contact")
        # Internal: the account owner does not serve the department and was told by mail.
        OWNER_NOTIFIED = "owner_notified", _("account owner notified")
        # Internal: the customer rated the solved ticket: {"score", "comment", "previous"}.
        RATED = "rated", _("rated")

    class Role(models.TextChoices):
        AGENT = "agent", _("agent")
        CUSTOMER = "customer", _("customer")
        SYSTEM = "system", _("system")

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Small, denormalized wire fields (body, old/new values, author name).
    payload = models.JSONField(default=dict)
    author_role = models.CharField(max_length=8, choices=Role.choices, default=Role.SYSTEM)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Internal events (notes, SLA warnings, the chat's internal notes) never reach customers.
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticket", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "seq"], name="tickets_event_seq_unique"),
        ]
        indexes = [
            # The KPI report looks up the tickets that were ever pending (reports.kpis).
            models.Index(
                fields=["ticket"],
                condition=Q(kind="status", payload__new="pending"),
                name="tickets_event_pending_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}#{self.seq} {self.kind}"


class TicketAttachment(models.Model):
    """A file on a ticket: sent with a reply or note, by e-mail, or carried over from its chat.

    The event it came with lists it in its payload (`attachments`), so the
    portal and the console render it from the timeline; access follows the
    ticket (and `internal` files never reach the customer).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="attachments")
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="attachments"
    )
    # The storage name (random, foundation.uploads.store_upload); never shown to anyone.
    file = models.FileField(max_length=200)
    # A WebP thumbnail next to it for raster images Pillow verified (foundation.thumbnails); else "".
    thumbnail = models.FileField(max_length=210, blank=True, default="")
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    internal = models.BooleanField(default=False)
    # Set when the file came with the chat the ticket was made from (same stored file).
    chat_attachment = models.ForeignKey(
        "chat.ChatAttachment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["ticket", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "chat_attachment"],
                condition=Q(chat_attachment__isnull=False),
                name="tickets_attachment_from_chat_once",
            ),
        ]

    def __str__(self) -> str:
        return self.filename


class InboundEmail(models.Model):
    """One inbound mail taken (or ignored), by its Message-ID.

    The unique Message-ID makes a retried delivery (an MTA that timed out,
    a provider's webhook retry) a no-op that answers the first outcome, and
    lets a reply that names an earlier mail in `In-Reply-To`/`References`
    thread onto that mail's ticket. Mail without a Message-ID is recorded
    with an empty one and is never deduplicated.
    """

    class Outcome(models.TextChoices):
        CREATED = "created", _("created a ticket")
        REPLIED = "replied", _("replied on a ticket")
        IGNORED = "ignored", _("ignored")

    # Normalized: lower-case, with its angle brackets.
    message_id = models.CharField(max_length=500, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="inbound_emails"
    )
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=200, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message_id"],
                condition=~Q(message_id=""),
                name="tickets_inbound_message_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.message_id or f"inbound #{self.pk}"


class OutboundEmail(models.Model):
    """One mail to send: written in the transaction that made it, sent after (tickets.email.sending).

    The row is the durable promise: a relay that is down, slow or hanging
    delays the mail, never loses it and never holds up the request. A
    notification is composed when its event happens (so it tells what
    happened then); a sign-in link is composed by the sender, which alone
    knows whether the address is a customer's, so the request that asked
    for it does the same work for every address.
    """

    class Kind(models.TextChoices):
        NOTIFICATION = "notification", _("ticket notification")
        SIGN_IN_LINK = "sign_in_link", _("sign-in link")
        AGENT_ALERT = "agent_alert", _("agent alert")
        ACKNOWLEDGEMENT = "acknowledgement", _("ticket acknowledgement")
        TRANSCRIPT = "transcript", _("chat transcript")

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        FAILED = "failed", _("not delivered")
        # A sign-in link for an address that is nobody's, or one that expired unsent.
        DROPPED = "dropped", _("dropped")

    kind = models.CharField(max_length=16, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="outbound_emails"
    )
    event = models.ForeignKey(
        TicketEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to = models.JSONField(default=list)
    # Composed message; empty for a sign-in link until the sender composes it.
    subject = models.CharField(max_length=400, blank=True)
    text_body = models.TextField(blank=True)
    html_body = models.TextField(blank=True)
    headers = models.JSONField(default=dict)
    # Fixed at enqueue: a retry after a relay that took the mail but timed
    # out carries the same Message-ID, so the duplicate collapses.
    message_id = models.CharField(max_length=200)
    # A Django e-mail backend for this row only (the demo's console); blank: the configured one.
    backend = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the row is next due; a claim moves it past the send timeout (a lease).
    next_attempt_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="tickets_outbox_due_idx",
                condition=Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.state} {self.message_id}"
