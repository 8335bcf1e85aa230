"""One known week, written through the real actions on a frozen clock; each KPI checked exactly.

The support department works Mon-Fri 09:00-17:00 UTC; the "Standard" plan
gives 60 business minutes to the first response and 600 to the
resolution. Monday 2026-03-02 is day one; "now" is the next Tuesday.

Chats (Monday):
- C1 10:00 queued, 10:01 boris accepts, 10:02 replies, 10:10 closed: resolved, rated 4.
- C2 11:00 queued, 11:05 the visitor leaves, nobody answered: missed.
- C3 12:00 queued, 12:03 boris accepts, 12:04 replies, 12:05 transferred to the
  department, 12:06 chen accepts, 12:20 closed: transferred, rated 2.
- C4 13:00 queued, 13:01 "This solved my problem": deflected.

Tickets (support):
- T1 Mon 16:00, reply 16:30, pending 16:45, customer answers Tue 10:00 (open again),
  solved Tue 11:00: 3 business hours open, 1 h 15 min of them pending -> 6300 s.
- T2 Tue 09:00, never answered: both clocks breached by now.
- T3 Wed 10:00, reply 10:10, solved 12:00: 7200 s, solved the day it came.
- T4 (sales) Wed 10:00: only without the department filter.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from chat import log
from chat.actions import conversations, transfer, visitors
from chat.models import Conversation
from crm.models import Organization, ServiceLine, SlaPlan, SupportContract
from queues import actions as presence
from queues.models import PresenceInterval, WeeklyHours
from reports.kpis import KpiFilters, _resolution_seconds, compute_kpis, compute_series, drilldown
from reports.models import SupportExpense
from tests.factories import make_agent, make_contact, make_department
from tickets.actions import lifecycle, messages, rating
from tickets.models import Ticket

pytestmark = pytest.mark.django_db
User = get_user_model()

MON, TUE, WED = (datetime.date(2026, 3, d) for d in (2, 3, 4))
WEEK = {"date_from": MON, "date_to": datetime.date(2026, 3, 6)}


@pytest.fixture
def office(db):
    department = make_department("support", name="Support", is_24x7=False)
    for weekday in range(5):
        WeeklyHours.objects.create(
            department=department,
            weekday=weekday,
            opens=datetime.time(9),
            closes=datetime.time(17),
        )
    SlaPlan.objects.create(name="Standard", first_response_minutes=60, resolution_minutes=600)
    return department


@pytest.fixture
def team(office):
    return make_agent("boris", [office]), make_agent("chen", [office])


def chat_at(clock, visitor_name: str, department, hour: int, minute: int = 0) -> Conversation:
    clock.at(2026, 3, 2, hour, minute)
    visitor = visitors.create_visitor(name=visitor_name)[0]
    return conversations.start_conversation(visitor, department)[0]


def reply(conversation: Conversation, agent) -> None:
    conversations.post_message(
        conversation.pk,
        conversation.public_id,
        author=log.agent_author(agent),
        client_id=uuid.uuid4(),
        body="Hello",
        assigned_to=agent.pk,
    )


@pytest.fixture
def chats(clock, office, team):
    boris, chen = team
    c1 = chat_at(clock, "Ana", office, 10)
    clock.at(2026, 3, 2, 10, 1)
    conversations.accept_conversation(c1, boris)
    clock.at(2026, 3, 2, 10, 2)
    reply(c1, boris)
    clock.at(2026, 3, 2, 10, 10)
    conversations.close_conversation(c1, by="agent", reason="solved")
    conversations.rate_conversation(c1, c1.visitor, score=4, comment="")

    c2 = chat_at(clock, "Bo", office, 11)
    clock.at(2026, 3, 2, 11, 5)
    conversations.close_conversation(c2, by="visitor")

    c3 = chat_at(clock, "Cy", office, 12)
    clock.at(2026, 3, 2, 12, 3)
    conversations.accept_conversation(c3, boris)
    clock.at(2026, 3, 2, 12, 4)
    reply(c3, boris)
    clock.at(2026, 3, 2, 12, 5)
    transfer.transfer_to_department(Conversation.objects.get(pk=c3.pk), office, by=boris)
    clock.at(2026, 3, 2, 12, 6)
    conversations.accept_conversation(Conversation.objects.get(pk=c3.pk), chen)
    clock.at(2026, 3, 2, 12, 20)
    conversations.close_conversation(c3, by="agent", reason="solved")
    conversations.rate_conversation(c3, c3.visitor, score=2, comment="")

    c4 = chat_at(clock, "Di", office, 13)
    clock.at(2026, 3, 2, 13, 1)
    conversations.close_conversation(c4, by="visitor", reason=conversations.DEFLECTED_REASON)
    return c1, c2, c3, c4


def open_ticket(clock, department, subject: str, contact, *parts: int) -> Ticket:
    clock.at(*parts)
    return messages.create_ticket(
        subject=subject,
        body="Help",
        contact=contact,
        channel=Ticket.Channel.EMAIL,
        department=department,
        author_role="customer",
        author_contact=contact,
    )


@pytest.fixture
def tickets(clock, office, team):
    boris = team[0]
    contact = make_contact("Maria")
    t1 = open_ticket(clock, office, "Printer", contact, 2026, 3, 2, 16, 0)
    clock.at(2026, 3, 2, 16, 30)
    messages.add_reply(t1, body="Try this", author_role="agent", author_user=boris)
    clock.at(2026, 3, 2, 16, 45)
    lifecycle.change_status(Ticket.objects.get(pk=t1.pk), "pending", by=boris)
    clock.at(2026, 3, 3, 10, 0)
    messages.add_reply(
        Ticket.objects.get(pk=t1.pk), body="Still broken", author_role="customer",
        author_contact=contact,
    )  # fmt: skip
    clock.at(2026, 3, 3, 11, 0)
    lifecycle.change_status(Ticket.objects.get(pk=t1.pk), "solved", by=boris)

    t2 = open_ticket(clock, office, "Scanner", contact, 2026, 3, 3, 9, 0)

    t3 = open_ticket(clock, office, "Toner", contact, 2026, 3, 4, 10, 0)
    clock.at(2026, 3, 4, 10, 10)
    messages.add_reply(t3, body="Sent", author_role="agent", author_user=boris)
    clock.at(2026, 3, 4, 12, 0)
    lifecycle.change_status(Ticket.objects.get(pk=t3.pk), "solved", by=boris)

    sales = make_department("sales")
    t4 = open_ticket(clock, sales, "Offer", contact, 2026, 3, 4, 10, 0)
    clock.at(2026, 3, 10, 12, 0)
    return t1, t2, t3, t4


def test_the_chat_figures_of_the_week(chats, office, clock):
    figures = compute_kpis(KpiFilters(**WEEK, department_ids=(office.pk,)))
    assert [Conversation.objects.get(pk=c.pk).outcome for c in chats] == [
        "resolved",
        "missed",
        "transferred",
        "deflected",
    ]
    assert figures["chats_total"] == 4
    assert figures["chats_missed"] == 1
    assert figures["chats_deflected"] == 1
    assert figures["deflection_rate_pct"] == 25.0
    assert figures["wait_s_median"] == 120.0  # 60 and 180
    assert figures["first_response_s_median"] == 180.0  # 120 and 240
    assert figures["first_response_s_p90"] == 228.0
    assert figures["handle_s_median"] == 780.0  # 540 and 1020
    assert figures["csat_avg"] == 3.0


def test_the_ticket_figures_of_the_week_count_business_hours_without_pauses(tickets, office):
    figures = compute_kpis(KpiFilters(**WEEK, department_ids=(office.pk,)))
    assert figures["tickets_opened"] == 3
    assert figures["tickets_solved"] == 2
    assert figures["resolution_s_median"] == 6750.0  # 6300 and 7200
    assert figures["daily_resolution_rate_pct"] == 33.3  # T3 only
    assert figures["sla_first_response_met_pct"] == 66.7  # T2 breached
    assert figures["sla_resolution_met_pct"] == 66.7
    assert compute_kpis(KpiFilters(**WEEK))["tickets_opened"] == 4


def test_csat_averages_the_chat_and_the_ticket_ratings_of_the_period(chats, tickets, office, clock):
    t1, _t2, t3, t4 = tickets
    clock.at(2026, 3, 3, 12, 0)
    rating.check_rate_ticket(Ticket.objects.get(pk=t1.pk), 5)
    clock.at(2026, 3, 4, 13, 0)
    rating.check_rate_ticket(Ticket.objects.get(pk=t3.pk), 1)
    clock.at(2026, 3, 5, 9, 0)
    rating.check_rate_ticket(Ticket.objects.get(pk=t3.pk), 3)  # replaces the 1, on Thursday
    lifecycle.change_status(Ticket.objects.get(pk=t4.pk), "solved", by=None)
    rating.check_rate_ticket(Ticket.objects.get(pk=t4.pk), 1)  # sales
    clock.at(2026, 3, 9, 9, 0)
    rating.check_rate_ticket(Ticket.objects.get(pk=t4.pk), 2)  # the next week: not this one

    support = (office.pk,)
    # Chats 4 and 2 (started Monday), tickets 5 (T1, Tuesday) and 3 (T3, Thursday).
    assert compute_kpis(KpiFilters(**WEEK, department_ids=support))["csat_avg"] == 3.5
    # Every department: T4's rating of the next week replaced its 1, so it is not in this week.
    assert compute_kpis(KpiFilters(**WEEK))["csat_avg"] == 3.5
    assert compute_kpis(KpiFilters(MON, datetime.date(2026, 3, 9)))["csat_avg"] == 3.2
    # A ticket counts on the day it was rated, whatever the day it was opened or solved.
    assert compute_kpis(KpiFilters(TUE, TUE, department_ids=support))["csat_avg"] == 5.0
    assert compute_kpis(KpiFilters(**WEEK, channels=("email",)))["csat_avg"] == 4.0
    assert compute_kpis(KpiFilters(**WEEK, channels=("chat",)))["csat_avg"] == 3.0
    series = compute_series(KpiFilters(**WEEK, department_ids=support))
    assert [row["csat_avg"] for row in series] == [3.0, 5.0, None, 3.0, None]


def test_a_pause_alone_gives_the_business_time_outside_it(tickets, office):
    monday_to_tuesday = KpiFilters(MON, TUE, department_ids=(office.pk,))
    assert compute_kpis(monday_to_tuesday)["resolution_s_median"] == 6300.0


def test_filters_narrow_every_count(chats, tickets, office, team):
    boris, chen = team
    assert compute_kpis(KpiFilters(**WEEK, agent_ids=(chen.pk,)))["chats_total"] == 1
    email_only = compute_kpis(KpiFilters(**WEEK, channels=("email",)))
    assert (email_only["chats_total"], email_only["tickets_opened"]) == (0, 4)
    chat_only = compute_kpis(KpiFilters(**WEEK, channels=("chat",)))
    assert (chat_only["chats_total"], chat_only["tickets_opened"]) == (4, 0)
    assert chat_only["resolution_s_median"] is None


def test_a_zone_moves_the_day_boundaries(chats):
    # 10:00-13:01 UTC Monday is Monday in Tokyo (19:00-22:01), Tuesday in Kiritimati (UTC+14).
    tokyo = compute_kpis(KpiFilters(MON, MON, "Asia/Tokyo"))
    kiritimati = compute_kpis(KpiFilters(MON, MON, "Pacific/Kiritimati"))
    kiritimati_tuesday = compute_kpis(KpiFilters(TUE, TUE, "Pacific/Kiritimati"))
    assert (tokyo["chats_total"], kiritimati["chats_total"]) == (4, 0)
    assert kiritimati_tuesday["chats_total"] == 4


def test_the_series_puts_each_number_on_its_day(chats, tickets, office):
    series = compute_series(KpiFilters(**WEEK, department_ids=(office.pk,)))
    by_day = {row["date"]: row for row in series}
    assert [by_day[d]["chats_total"] for d in sorted(by_day)] == [4, 0, 0, 0, 0]
    assert [by_day[d]["tickets_opened"] for d in sorted(by_day)] == [1, 1, 1, 0, 0]
    assert by_day["2026-03-03"]["tickets_solved"] == 1
    assert by_day["2026-03-02"]["wait_s_median"] == 120.0


def test_drilldown_gives_the_rows_behind_each_number(chats, tickets, office):
    week = KpiFilters(**WEEK, department_ids=(office.pk,))
    c1, c2, c3, c4 = chats
    t1, t2, t3, _t4 = tickets
    assert set(drilldown(week, "chats_missed")) == {c2}
    assert set(drilldown(week, "chats_deflected")) == {c4}
    assert set(drilldown(week, "csat_avg")) == {c1, c3}
    assert set(drilldown(week, "wait_s_median")) == {c1, c3}
    assert set(drilldown(week, "tickets_solved")) == {t1, t3}
    assert set(drilldown(week, "sla_first_response_met_pct")) == {t1, t2, t3}


def test_money_renewals_and_costs(clock, office):
    acme = Organization.objects.create(name="Acme", category="key account")
    other = Organization.objects.create(name="Other", category="reseller")
    plan = SlaPlan.objects.create(name="Gold", first_response_minutes=30, resolution_minutes=240)
    old = SupportContract.objects.create(
        organization=acme, plan=plan, starts_on=datetime.date(2025, 3, 5),
        ends_on=datetime.date(2026, 3, 4),
    )  # fmt: skip
    SupportContract.objects.create(
        organization=acme, plan=plan, starts_on=datetime.date(2026, 3, 5),
        ends_on=datetime.date(2027, 3, 4), renews=old,
    )  # fmt: skip
    SupportContract.objects.create(
        organization=other, plan=plan, starts_on=datetime.date(2025, 3, 6),
        ends_on=datetime.date(2026, 3, 5),
    )  # fmt: skip
    ServiceLine.objects.create(
        kind="contract", date=TUE, amount=Decimal("1200"), currency="EUR", organization=acme
    )
    ServiceLine.objects.create(
        kind="repair", date=WED, amount=Decimal("300"), currency="EUR", organization=acme
    )
    ServiceLine.objects.create(
        kind="parts", date=WED, amount=Decimal("100"), currency="USD", organization=other
    )
    SupportExpense.objects.create(
        period_start=datetime.date(2026, 3, 1), period_end=datetime.date(2026, 3, 31),
        department=office, amount=Decimal("3100"), currency="EUR",
    )  # fmt: skip
    contact = make_contact("Maria")
    for hour in (10, 11):
        open_ticket(clock, office, "Printer", contact, 2026, 3, 3, hour, 0)
    clock.at(2026, 3, 10, 12, 0)
    week = compute_kpis(KpiFilters(**WEEK, department_ids=(office.pk,)))
    assert week["support_revenue"] == {"EUR": 1500.0, "USD": 100.0}
    assert week["contract_renewal_rate_pct"] == 50.0
    assert week["cost_per_ticket"] == 250.0  # 5 days of 100 EUR over 2 tickets
    key_accounts = compute_kpis(KpiFilters(**WEEK, customer_categories=("key account",)))
    assert key_accounts["support_revenue"] == 1500.0
    assert key_accounts["contract_renewal_rate_pct"] == 100.0


def test_presence_history_gives_logged_in_time_and_occupancy(clock, office, team):
    boris = team[0]
    connection = uuid.uuid4()
    clock.at(2026, 3, 2, 9, 0)
    presence.do_register_connection(boris, connection_id=connection, channel_name="x")
    presence.do_set_presence(boris, "online")
    c1 = chat_at(clock, "Ana", office, 10)
    clock.at(2026, 3, 2, 10, 1)
    presence.do_heartbeat(connection)
    conversations.accept_conversation(c1, boris)
    clock.at(2026, 3, 2, 10, 10)
    conversations.close_conversation(c1, by="agent", reason="solved")
    clock.at(2026, 3, 2, 11, 0)
    presence.do_heartbeat(connection)
    presence.do_set_presence(boris, "away")
    clock.at(2026, 3, 2, 12, 0)
    presence.do_heartbeat(connection)
    presence.do_drop_connection(boris, connection_id=connection)
    # The sweep past the grace period takes the agent offline, as of the disconnect.
    clock.at(2026, 3, 2, 12, 1)
    presence.sweep_presence()
    rows = list(PresenceInterval.objects.values_list("status", "started_at", "ended_at"))
    at = lambda h: datetime.datetime(2026, 3, 2, h, tzinfo=datetime.UTC)  # noqa: E731
    assert rows == [("online", at(9), at(11)), ("away", at(11), at(12))]
    figures = compute_kpis(KpiFilters(MON, MON, department_ids=(office.pk,)))
    assert figures["logged_in_s"] == 3 * 3600.0
    assert figures["occupancy_pct"] == 7.5  # 9 busy minutes of 120 online


def test_an_open_interval_counts_until_now(clock, office, team):
    boris = team[0]
    clock.at(2026, 3, 2, 9, 0)
    presence.do_register_connection(boris, connection_id=uuid.uuid4(), channel_name="x")
    presence.do_set_presence(boris, "online")
    clock.at(2026, 3, 2, 9, 0, 20)
    figures = compute_kpis(KpiFilters(MON, MON))
    assert figures["logged_in_s"] == 20.0
    assert figures["occupancy_pct"] == 0.0


@pytest.mark.parametrize("tz", ["UTC", "America/New_York", "Asia/Tokyo"])
def test_the_series_is_the_report_of_each_day(chats, tickets, tz):
    # compute_series groups by local day in one pass per figure: each of its rows is
    # exactly what compute_kpis gives for that one day, whatever the zone.
    week = KpiFilters(datetime.date(2026, 3, 1), datetime.date(2026, 3, 7), tz=tz)
    series = compute_series(week)
    assert [row["date"] for row in series] == [day.isoformat() for day in week.days()]
    for row in series:
        day = datetime.date.fromisoformat(row["date"])
        one_day = compute_kpis(KpiFilters(day, day, tz=tz))
        assert row == {"date": row["date"], **{k: one_day[k] for k in row if k != "date"}}
    assert sum(row["chats_total"] for row in series) == 4
    assert sum(row["tickets_solved"] for row in series) == 2


def test_solving_stores_the_resolution_time_the_recount_gives(tickets, office, clock):
    # Ticket.resolution_s is fixed by the solve action; it equals the recount from
    # the status events and the hours (reports.kpis._resolution_seconds).
    t1, t2, t3, _t4 = (Ticket.objects.get(pk=t.pk) for t in tickets)
    assert (t1.resolution_s, t2.resolution_s, t3.resolution_s) == (6300.0, None, 7200.0)
    recount = sorted(s for _, s in _resolution_seconds(KpiFilters(**WEEK)))
    assert recount == [6300.0, 7200.0]


def test_reopening_clears_the_resolution_time_and_solving_again_sets_it(tickets, office, clock):
    boris = User.objects.get(username="boris")
    t3 = Ticket.objects.get(pk=tickets[2].pk)
    clock.at(2026, 3, 4, 13, 0)
    lifecycle.change_status(t3, "open", by=boris)
    assert Ticket.objects.get(pk=t3.pk).resolution_s is None
    clock.at(2026, 3, 4, 15, 0)
    lifecycle.change_status(Ticket.objects.get(pk=t3.pk), "solved", by=boris)
    # 10:00-15:00: the recount only reads the pauses of tickets that were ever
    # pending, so the solved stretch 12:00-13:00 of this one counts (as before).
    t3 = Ticket.objects.get(pk=t3.pk)
    assert t3.resolution_s == 5 * 3600.0
    assert [s for _, s in _resolution_seconds(KpiFilters(WED, WED))] == [5 * 3600.0]


def test_a_customer_reply_reopening_a_solved_ticket_clears_it(tickets, office, clock):
    t3 = Ticket.objects.get(pk=tickets[2].pk)
    clock.at(2026, 3, 4, 13, 0)
    messages.add_reply(
        t3, body="Again", author_role="customer", author_contact=make_contact("Maria")
    )
    t3 = Ticket.objects.get(pk=t3.pk)
    assert t3.status != "solved"
    assert t3.resolution_s is None
