"""The supervisors' wall-board: the floor right now, read from the database.

Everything on the board is recomputed from the rows on every render (a
doorbell only says "look again"), so the board can never drift from the
truth however many pushes were lost:

- waiting now and the longest wait, per department (queued chats);
- agents: online, accepting (online and taking new chats), away; each
  agent's active chats against their maximum;
- SLAs at risk (a running clock due within CHATPORTAL_SLA_WARN_BEFORE_S)
  and breached (a running clock past due), counted in tickets;
- today (from local midnight, settings.TIME_ZONE): chats started, tickets
  opened and solved, and CSAT (average rating of the chats rated today).

Nothing here writes or publishes. `wallboard_groups` names the channel-layer
groups whose doorbells mean the board may have changed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, replace

from django.db.models import Avg, Count, Min, Q
from django.utils import timezone

from chat.events import department_group
from chat.models import Conversation
from queues.models import AgentPresence, AgentProfile, Department
from queues.presence import effective_status, live_cutoff
from tickets import sla
from tickets.events import department_tickets_group
from tickets.models import Ticket

# What fits a 1920x1080 screen without scrolling (and 1366x768 with smaller type).
MAX_DEPARTMENTS = 8
MAX_AGENTS = 12

State = Conversation.State
Status = AgentPresence.Status
RUNNING = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.ON_HOLD)


@dataclass
class DepartmentRow:
    slug: str
    name: str
    waiting: int = 0
    longest_wait_s: int | None = None
    active_chats: int = 0
    agents_online: int = 0
    sla_at_risk: int = 0
    sla_breached: int = 0

    @property
    def longest_wait(self) -> str:
        return duration(self.longest_wait_s)


@dataclass
class AgentRow:
    name: str
    status: str
    accepting: bool
    chats: int
    max_chats: int


@dataclass
class Board:
    now: datetime.datetime
    departments: list[DepartmentRow]
    more_departments: int
    agents: list[AgentRow]
    more_agents: int
    waiting: int
    longest_wait_s: int | None
    agents_online: int
    agents_accepting: int
    agents_away: int
    sla_at_risk: int
    sla_breached: int
    chats_today: int
    tickets_opened_today: int
    tickets_solved_today: int
    csat_today: float | None
    ratings_today: int

    @property
    def longest_wait(self) -> str:
        return duration(self.longest_wait_s)

    def figures(self) -> Board:
        """The board without its time: equal figures mean nothing to show."""
        return replace(self, now=datetime.datetime.min.replace(tzinfo=datetime.UTC))


def wallboard_groups() -> list[str]:
    """Every department's agent group (queue and presence) and ticket group."""
    slugs = Department.objects.order_by("slug").values_list("slug", flat=True)
    return [
        group
        for slug in slugs
        for group in (department_group(slug), department_tickets_group(slug))
    ]


def start_of_today(now: datetime.datetime) -> datetime.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _sla_counts(now: datetime.datetime) -> dict[int, tuple[int, int]]:
    """{department id: (at risk, breached)} over tickets whose clocks run."""
    soon = now + sla.warn_before()
    first_running = Q(first_responded_at__isnull=True, first_response_due__isnull=False)
    breached = (first_running & Q(first_response_due__lte=now)) | Q(resolution_due__lte=now)
    at_risk = (
        (first_running & Q(first_response_due__gt=now, first_response_due__lte=soon))
        | Q(resolution_due__gt=now, resolution_due__lte=soon)
    ) & ~breached
    rows = (
        Ticket.objects.filter(status__in=RUNNING)
        .values("department")
        .annotate(at_risk=Count("pk", filter=at_risk), breached=Count("pk", filter=breached))
        .values_list("department", "at_risk", "breached")
    )
    return {dept: (risk, late) for dept, risk, late in rows}


def _agents(now: datetime.datetime) -> tuple[list[AgentRow], dict[int, set[int]]]:
    """Every active agent, and {department id: ids of its online agents}."""
    chats = dict(
        Conversation.objects.filter(state=State.ACTIVE, assigned_agent__isnull=False)
        .values("assigned_agent")
        .annotate(n=Count("pk"))
        .values_list("assigned_agent", "n")
    )
    profiles = (
        AgentProfile.objects.filter(user__is_active=True)
        .select_related("user", "user__presence")
        .annotate(
            live=Count(
                "user__agent_connections",
                filter=Q(user__agent_connections__last_seen__gte=live_cutoff(now)),
            )
        )
        .prefetch_related("departments")
    )
    rows = []
    online_by_department: dict[int, set[int]] = {}
    for profile in profiles:
        presence = getattr(profile.user, "presence", None)
        status = effective_status(presence, profile.live)
        rows.append(
            AgentRow(
                name=profile.display_name,
                status=status,
                accepting=status == Status.ONLINE and bool(presence and presence.accepting),
                chats=chats.get(profile.user_id, 0),
                max_chats=profile.max_chats,
            )
        )
        if status == Status.ONLINE:
            for department in profile.departments.all():
                online_by_department.setdefault(department.pk, set()).add(profile.user_id)
    order = {Status.ONLINE: 0, Status.AWAY: 1, Status.OFFLINE: 2}
    rows.sort(key=lambda row: (order.get(row.status, 3), -row.chats, row.name.lower()))
    return rows, online_by_department


def wallboard(now: datetime.datetime | None = None) -> Board:
    now = now or timezone.now()
    today = start_of_today(now)
    departments = {
        d.pk: DepartmentRow(slug=d.slug, name=d.name) for d in Department.objects.order_by("name")
    }
    chats = (
        Conversation.objects.filter(state__in=[State.QUEUED, State.ACTIVE])
        .values("department")
        .annotate(
            waiting=Count("pk", filter=Q(state=State.QUEUED)),
            active=Count("pk", filter=Q(state=State.ACTIVE)),
            oldest=Min("queued_at", filter=Q(state=State.QUEUED)),
        )
        .values_list("department", "waiting", "active", "oldest")
    )
    for dept, waiting, active, oldest in chats:
        row = departments.get(dept)
        if row is None:
            continue
        row.waiting, row.active_chats = waiting, active
        if oldest is not None:
            row.longest_wait_s = max(0, int((now - oldest).total_seconds()))
    for dept, (at_risk, breached) in _sla_counts(now).items():
        if dept in departments:
            departments[dept].sla_at_risk, departments[dept].sla_breached = at_risk, breached
    agents, online_by_department = _agents(now)
    for dept, ids in online_by_department.items():
        if dept in departments:
            departments[dept].agents_online = len(ids)
    # The busiest departments first: those with visitors waiting, then SLA trouble.
    department_rows = sorted(
        departments.values(),
        key=lambda row: (-row.waiting, -(row.sla_breached + row.sla_at_risk), row.name.lower()),
    )
    rated = Conversation.objects.filter(rated_at__gte=today, rating_score__isnull=False).aggregate(
        avg=Avg("rating_score"), n=Count("pk")
    )
    waits = [row.longest_wait_s for row in department_rows if row.longest_wait_s is not None]
    shown_agents = [row for row in agents if row.status != Status.OFFLINE]
    return Board(
        now=now,
        departments=department_rows[:MAX_DEPARTMENTS],
        more_departments=max(0, len(department_rows) - MAX_DEPARTMENTS),
        agents=shown_agents[:MAX_AGENTS],
        more_agents=max(0, len(shown_agents) - MAX_AGENTS),
        waiting=sum(row.waiting for row in department_rows),
        longest_wait_s=max(waits) if waits else None,
        agents_online=sum(1 for row in agents if row.status == Status.ONLINE),
        agents_accepting=sum(1 for row in agents if row.accepting),
        agents_away=sum(1 for row in agents if row.status == Status.AWAY),
        sla_at_risk=sum(row.sla_at_risk for row in department_rows),
        sla_breached=sum(row.sla_breached for row in department_rows),
        chats_today=Conversation.objects.filter(created_at__gte=today).count(),
        tickets_opened_today=Ticket.objects.filter(created_at__gte=today).count(),
        tickets_solved_today=Ticket.objects.filter(
            solved_at__gte=today, status__in=Ticket.DONE_STATUSES
        ).count(),
        csat_today=round(rated["avg"], 2) if rated["avg"] is not None else None,
        ratings_today=rated["n"],
    )


def duration(seconds: int | None) -> str:
    """`m:ss` under an hour, `h:mm:ss` above; an em dash for none."""
    if seconds is None:
        return "—"
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
