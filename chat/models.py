"""Visitors, conversations and their event log.

The event log is the truth of a conversation: every state change appends a
`ConversationEvent` with the next `seq` in the same transaction, and sockets
deliver from it (the channel layer only rings the doorbell).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from crm.models import Asset, Contact
from queues.models import Department


class Visitor(models.Model):
    """Someone in front of the widget.

    The bearer token is never stored, only its SHA-256: a database dump hands
    out no session. A visitor merged onto the verified visitor of a contact
    keeps its row (and its token keeps working) with `merged_into` set.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    # Only a verified identity (JWT or HMAC) sets these; never the pre-chat form.
    external_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors"
    )
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="aliases"
    )
    # The pre-chat profile: what the visitor typed, unverified.
    name = models.CharField(_("name"), max_length=200, blank=True)
    email = models.CharField(_("e-mail (unverified)"), max_length=254, blank=True)
    phone = models.CharField(_("phone (unverified)"), max_length=40, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    # The widget's "Email me a transcript" (the hello's profile): mail each chat when it ends.
    transcript_requested = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name or str(self.public_id)

    @property
    def display_name(self) -> str | None:
        return self.name or None


class Conversation(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        ACTIVE = "active", _("active")
        CLOSED = "closed", _("closed")

    class Outcome(models.TextChoices):
        RESOLVED = "resolved", _("resolved")
        DEFLECTED = "deflected", _("deflected")
        TRANSFERRED = "transferred", _("transferred")
        MISSED = "missed", _("missed")

    OPEN_STATES = (State.QUEUED, State.ACTIVE)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="conversations"
    )
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="conversations")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    # The unit the chat is about (one of the contact's or their organization's assets).
    asset = models.ForeignKey(
        Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    assigned_agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    page_url = models.CharField(max_length=2000, blank=True)
    page_title = models.CharField(max_length=300, blank=True)
    locale = models.CharField(max_length=10, blank=True)
    # The seq of the last appended event; incremented atomically by append_event.
    last_seq = models.PositiveIntegerField(default=0)
    # When it (last) entered the queue: the queue is served in this order.
    queued_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    # The moments of its first `assigned` event and first public agent message
    # or attachment, for the KPIs (reports.kpis): written by chat.log with the
    # event, never changed after (docs/kpis.md).
    first_assigned_at = models.DateTimeField(null=True, blank=True)
    first_reply_at = models.DateTimeField(null=True, blank=True)
    # Set when routing offers the chat to an agent; cleared when the agent
    # answers (accepts or writes). Past the department's offer timeout the
    # chat goes to the next agent (chat.actions.presence.expire_offers).
    offered_at = models.DateTimeField(null=True, blank=True)
    rating_score = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # How it ended, for the KPIs (chat.actions.conversations.outcome_at_close);
    # "transferred" is set by a transfer already, while the chat is open.
    outcome = models.CharField(
        _("outcome"), max_length=12, choices=Outcome.choices, blank=True, default=""
    )
    # Self-service: the KB articles (public ids) suggested after the first
    # message, and the one the visitor said solved it (closed as `deflected`).
    suggested_articles = models.JSONField(default=list, blank=True)
    deflected_article = models.UUIDField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two tabs (or two workers) starting a chat at once make one.
            models.UniqueConstraint(
                fields=["visitor"],
                condition=Q(state__in=["queued", "active"]),
                name="chat_one_open_conversation_per_visitor",
            ),
        ]
        indexes = [
            models.Index(fields=["department", "state", "queued_at"], name="chat_conv_queue_idx"),
            models.Index(fields=["assigned_agent", "state"], name="chat_conv_agent_idx"),
            # The KPIs read conversations by the day they started.
            models.Index(fields=["created_at"], name="chat_conv_created_idx"),
        ]

    def __str__(self) -> str:
        return str(self.public_id)

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES


class ConversationEvent(models.Model):
    class Kind(models.TextChoices):
        MESSAGE = "message", _("message")
        QUEUED = "queued", _("queued")
        ASSIGNED = "assigned", _("assigned")
        TRANSFERRED = "transferred", _("transferred")
        CLOSED = "closed", _("closed")
        RATED = "rated", _("rated")
        # The chat became a ticket: {"number", "status", "portal_url"}.
        TICKET = "ticket", _("ticket")
        # A file: {"author", "id", "filename", "content_type", "size", "url"} (ChatAttachment).
        ATTACHMENT = "attachment", _("attachment")
        # Internal: an agent linked the chat to a CRM contact: {"contact": {"id", "name"}}.
        CONTACT = "contact", _("linked to contact")
        # Internal, always: a supervisor's note to the assigned agent: {"author", "body"}.
        # Never sent to the visitor, never in a transcript (chat.actions.floor).
        WHISPER = "whisper", _("whisper")

    class Role(models.TextChoices):
        VISITOR = "visitor", _("visitor")
        AGENT = "agent", _("agent")
        SYSTEM = "system", _("system")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The wire fields of the event (author name, body, ...), denormalized at
    # write time so that delivery is one indexed read with no joins.
    payload = models.JSONField(default=dict)
    author_role = models.CharField(max_length=8, choices=Role.choices, default=Role.SYSTEM)
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    client_id = models.UUIDField(null=True, blank=True)
    internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "seq"], name="chat_event_seq_unique"),
            # A retried client message is one message, not two.
            models.UniqueConstraint(
                fields=["conversation", "client_id"],
                condition=Q(client_id__isnull=False),
                name="chat_event_client_id_unique",
            ),
        ]
        indexes = [
            # The KPI report's first assignment and first agent reply of each chat
            # (reports.kpis): only these kinds, read from the index alone on PostgreSQL.
            models.Index(
                fields=["conversation", "created_at"],
                include=["kind", "author_role", "internal"],
                condition=Q(kind__in=["assigned", "message", "attachment"]),
                name="chat_event_moments_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id}#{self.seq} {self.kind}"


class ReadMarker(models.Model):
    """How far one participant (the visitor, or one agent) has read."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="read_markers"
    )
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    last_read_seq = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "visitor"],
                condition=Q(visitor__isnull=False),
                name="chat_read_marker_visitor_unique",
            ),
            models.UniqueConstraint(
                fields=["conversation", "user"],
                condition=Q(user__isnull=False),
                name="chat_read_marker_user_unique",
            ),
            models.CheckConstraint(
                condition=Q(visitor__isnull=True, user__isnull=False)
                | Q(visitor__isnull=False, user__isnull=True),
                name="chat_read_marker_one_participant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversation_id} read to {self.last_read_seq}"


class CannedResponse(models.Model):
    """A prepared reply an agent inserts by its shortcut ("/greet").

    Without a department it is global (every agent sees it); a department's
    own response with the same shortcut wins over the global one. The body
    may name variables such as `{first_name}` and `{agent_name}`
    (`chat.canned` fills them).
    """

    department = models.ForeignKey(
        Department,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        verbose_name=_("department"),
        help_text=_("Empty: available in every department."),
    )
    shortcut = models.SlugField(_("shortcut"), max_length=40)
    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(
        _("body"),
        max_length=10_000,
        help_text=_(
            "Variables: {first_name}, {last_name}, {name}, {organization}, {agent_name}, {department}."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["shortcut"]
        verbose_name = _("canned response")
        verbose_name_plural = _("canned responses")
        constraints = [
            models.UniqueConstraint(
                fields=["department", "shortcut"],
                condition=Q(department__isnull=False),
                name="chat_canned_department_shortcut_unique",
            ),
            models.UniqueConstraint(
                fields=["shortcut"],
                condition=Q(department__isnull=True),
                name="chat_canned_global_shortcut_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.shortcut}"


class ChatAttachment(models.Model):
    """A file sent in a chat; its event (kind `attachment`) is what sockets deliver.

    The download link carries `download_token` (192 random bits) and is still
    checked against the conversation's participants on every request.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    download_token = models.CharField(max_length=64, unique=True, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="attachments"
    )
    # The storage name (random, foundation.uploads.store_upload); never shown to anyone.
    file = models.FileField(max_length=200)
    # A WebP thumbnail next to it for raster images Pillow verified (foundation.thumbnails); else "".
    thumbnail = models.FileField(max_length=210, blank=True, default="")
    filename = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    # Agents' internal files are never shown to the visitor (like internal notes).
    internal = models.BooleanField(default=False)
    seq = models.PositiveIntegerField(null=True, blank=True)
    author_role = models.CharField(
        max_length=8, choices=ConversationEvent.Role.choices, default=ConversationEvent.Role.SYSTEM
    )
    author_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["conversation", "created_at", "pk"]

    def __str__(self) -> str:
        return self.filename
