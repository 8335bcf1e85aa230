"""Departments, their hours, agents and their API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Product


class Department(models.Model):
    class RoutingMode(models.TextChoices):
        AUTO = "auto", _("automatic")
        MANUAL = "manual", _("manual (agents pick)")

    slug = models.SlugField(unique=True)
    name = models.CharField(_("name"), max_length=100)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    is_24x7 = models.BooleanField(_("open 24x7"), default=False)
    routing_mode = models.CharField(
        max_length=8, choices=RoutingMode.choices, default=RoutingMode.AUTO
    )
    offer_timeout_s = models.PositiveSmallIntegerField(
        _("offer timeout (seconds)"),
        default=45,
        help_text=_(
            "An agent who lets an offered chat go unanswered this long is set away "
            "and the chat goes to the next agent."
        ),
    )
    long_wait_s = models.PositiveIntegerField(
        _("long wait (seconds)"),
        default=300,
        help_text=_("Past this estimated wait the widget offers to leave a message instead."),
    )
    auto_ticket_after_s = models.PositiveIntegerField(
        _("ticket after (seconds)"),
        default=600,
        help_text=_(
            "A queued chat nobody has answered this long becomes a ticket; 0 turns it off."
        ),
    )
    kb_search_box = models.BooleanField(
        _("help search in the widget"),
        default=False,
        help_text=_('Offer a "Search help" box in the widget before the first message.'),
    )
    send_transcripts = models.BooleanField(
        _("always e-mail chat transcripts"),
        default=False,
        help_text=_(
            "Every visitor who left an e-mail address gets the chat's transcript when it ends,"
            " whether or not they asked for it."
        ),
    )
    lead = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="led_departments",
        help_text=_("Notified of escalations."),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WeeklyHours(models.Model):
    """One opening interval on one weekday, in the department's time zone."""

    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="hours")
    weekday = models.PositiveSmallIntegerField(
        choices=[
            (0, _("Monday")),
            (1, _("Tuesday")),
            (2, _("Wednesday")),
            (3, _("Thursday")),
            (4, _("Friday")),
            (5, _("Saturday")),
            (6, _("Sunday")),
        ]
    )
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["department", "weekday", "opens"]
        verbose_name_plural = "weekly hours"

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}-{self.closes:%H:%M}"


class Holiday(models.Model):
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="holidays")
    date = models.DateField()
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["department", "date"], name="queues_holiday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}".strip()


class AgentProfile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_profile"
    )
    departments = models.ManyToManyField(Department, blank=True, related_name="agents")
    max_chats = models.PositiveSmallIntegerField(_("max chats"), default=3)
    is_supervisor = models.BooleanField(_("supervisor"), default=False)
    languages = models.CharField(
        _("languages"),
        max_length=50,
        blank=True,
        default="en",
        help_text=_("Comma-separated: en,ro"),
    )
    skills = models.CharField(
        _("skills"), max_length=200, blank=True, help_text=_("Comma-separated: relay,billing")
    )
    # The agent's own zone and console language; blank follows the browser
    # (the zone it reports, the language it asks for).
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        default="",
        help_text=_("IANA name (Europe/Bucharest); blank: the browser's"),
    )
    language = models.CharField(
        _("console language"),
        max_length=10,
        blank=True,
        default="",
        help_text=_("en, ro or ru; blank: the browser's"),
    )

    def __str__(self) -> str:
        return self.user.get_username()

    @property
    def language_set(self) -> set[str]:
        return {x.strip() for x in self.languages.split(",") if x.strip()}

    @property
    def skill_set(self) -> set[str]:
        return {x.strip() for x in self.skills.split(",") if x.strip()}

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.get_username()


class AgentApiToken(models.Model):
    """An integration's credential.

    The secret is derived (HMAC of `public_id` under SECRET_KEY), never stored,
    so `chatportal agent-token` can print it again; deleting the row revokes it.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, default="default")
    public_id = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} / {self.name}"


class AgentPresence(models.Model):
    """What an agent has chosen (or been set to); liveness comes from connections.

    The effective status is `offline` whenever the agent has no live
    connection, whatever was chosen: a closed laptop never looks available.
    "Online" and "accepting chats" are separate: an online agent can finish
    current chats without being offered new ones.
    """

    class Status(models.TextChoices):
        ONLINE = "online", _("online")
        AWAY = "away", _("away")
        OFFLINE = "offline", _("offline")

    class SetBy(models.TextChoices):
        AGENT = "agent", _("agent")
        SUPERVISOR = "supervisor", _("supervisor")
        SYSTEM = "system", _("system")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence"
    )
    chosen_status = models.CharField(max_length=8, choices=Status.choices, default=Status.OFFLINE)
    accepting = models.BooleanField(_("accepting chats"), default=True)
    set_by = models.CharField(max_length=10, choices=SetBy.choices, default=SetBy.AGENT)
    # The last effective status published, so that only transitions go out.
    published_status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.OFFLINE
    )
    changed_at = models.DateTimeField(auto_now=True)
    # Set when the agent's last connection went away; after the grace period
    # the agent counts as gone and its chats are requeued. A reload reconnects
    # well within the grace and costs nothing.
    disconnected_since = models.DateTimeField(null=True, blank=True)
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user} {self.chosen_status}"


class PresenceInterval(models.Model):
    """One stretch of an agent's visible status (`online` or `away`): presence history.

    Written with every published transition (queues/actions.py): the open
    row (`ended_at` null) is closed and the next one opened at the same
    moment. Offline is the absence of a row. Logged-in time and occupancy
    (docs/kpis.md) are measured from these.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presence_intervals"
    )
    status = models.CharField(max_length=8, choices=AgentPresence.Status.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["user", "started_at"]
        indexes = [
            models.Index(fields=["started_at"], name="queues_presence_iv_start_idx"),
            models.Index(fields=["user", "started_at"], name="queues_presence_iv_user_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(ended_at__isnull=True),
                name="queues_presence_one_open_interval",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.status} {self.started_at:%Y-%m-%d %H:%M}"


class AgentConnection(models.Model):
    """One open agent socket (tab or device), kept alive by heartbeats."""

    id = models.UUIDField(primary_key=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agent_connections"
    )
    channel_name = models.CharField(max_length=200)
    connected_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.user} {self.id}"


class ProductRoute(models.Model):
    """Entitlement routing: chats and tickets of owners of a product go to a department or skill.

    The department applies when a chat starts or a customer's ticket opens
    (`queues.product_routes`); the skill when routing picks an agent.
    """

    product = models.OneToOneField(Product, on_delete=models.CASCADE, related_name="route")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="product_routes"
    )
    required_skill = models.CharField(max_length=50, blank=True)

    def __str__(self) -> str:
        return f"{self.product} → {self.department or self.required_skill}"
