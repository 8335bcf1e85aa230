"""`/console/reports/` and its drill-down: filters, who sees what, the rows behind a number, targets."""

from __future__ import annotations

import datetime
import re

import pytest
from django.utils import timezone

from chat.actions.visitors import create_visitor
from chat.models import Conversation
from reports.models import KpiTarget
from reports.views import display, first_response_bins
from tests.factories import make_agent
from tickets.actions.messages import create_ticket
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _chat(department, *, agent=None, rating=None, at=None):
    at = at or timezone.now() - datetime.timedelta(hours=1)
    visitor = create_visitor(name="Ana")[0]
    conversation = Conversation.objects.create(
        department=department,
        visitor=visitor,
        state="closed",
        assigned_agent=agent,
        rating_score=rating,
        rated_at=at if rating else None,
        queued_at=at,
        closed_at=at + datetime.timedelta(minutes=5),
    )
    Conversation.objects.filter(pk=conversation.pk).update(created_at=at)
    return conversation


def _ticket(department, subject="Relay", **fields):
    ticket = create_ticket(
        subject=subject,
        body="It clicks.",
        contact=None,
        channel="email",
        department=department,
        author_role="customer",
        requester_email="x@example.com",
    )
    if fields:
        Ticket.objects.filter(pk=ticket.pk).update(**fields)
    return ticket


def tile(html: str, metric: str) -> str:
    found = re.search(
        rf'data-metric="{metric}">\s*<dt>[^<]*</dt>\s*<dd>(?:<a [^>]*>)?([^<]*)<', html
    )
    return found.group(1)


@pytest.fixture
def world(support, sales):
    boris = make_agent("boris", [support], first_name="Boris")
    sara = make_agent("sara", [sales], first_name="Sara")
    _chat(support, agent=boris, rating=5)
    _chat(support, agent=boris, rating=3)
    _chat(sales, agent=sara)
    _ticket(support, subject="Support's own")
    _ticket(sales, subject="Sales' secret")
    return boris, sara


def test_a_supervisor_sees_every_department_and_the_filters_change_the_numbers(
    client, world, supervisor, support
):
    client.force_login(supervisor)
    html = client.get("/console/reports/").content.decode()
    assert (tile(html, "chats_total"), tile(html, "tickets_opened")) == ("3", "2")
    assert tile(html, "csat_avg") == "4.00"
    only_support = client.get(f"/console/reports/?department={support.pk}").content.decode()
    assert (tile(only_support, "chats_total"), tile(only_support, "tickets_opened")) == ("2", "1")
    boris, _sara = world
    by_agent = client.get(f"/console/reports/?agent={boris.pk}").content.decode()
    assert tile(by_agent, "chats_total") == "2"
    by_channel = client.get("/console/reports/?channel=phone").content.decode()
    assert (tile(by_channel, "chats_total"), tile(by_channel, "tickets_opened")) == ("0", "0")


def test_the_page_draws_trends_and_a_distribution_as_svg_with_tables(client, world, supervisor):
    client.force_login(supervisor)
    html = client.get("/console/reports/").content.decode()
    assert html.count('role="img"') == 6
    assert html.count("<table") >= 6
    assert "<script" not in html.split('id="console-main"')[1]


def test_an_agent_sees_only_their_own_departments(client, world, support, sales):
    boris, _sara = world
    client.force_login(boris)
    html = client.get("/console/reports/").content.decode()
    assert (tile(html, "chats_total"), tile(html, "tickets_opened")) == ("2", "1")
    # Another department is not a choice: the form refuses it.
    assert client.get(f"/console/reports/?department={sales.pk}").status_code == 400
    drill = client.get("/console/reports/drilldown/?metric=tickets_opened").content.decode()
    assert "Support&#x27;s own" in drill and "Sales" not in drill


def test_strangers_sign_in_and_users_who_are_no_agents_are_refused(client, db):
    from django.contrib.auth import get_user_model

    assert client.get("/console/reports/").status_code == 302
    assert client.get("/console/reports/drilldown/?metric=chats_total").status_code == 302
    client.force_login(get_user_model().objects.create_user("nobody", password="x-pass-123"))
    assert client.get("/console/reports/").status_code == 403
    assert client.get("/console/reports/drilldown/?metric=chats_total").status_code == 403


def test_the_drilldown_lists_the_tickets_behind_a_number_with_links(
    client, world, supervisor, support
):
    client.force_login(supervisor)
    html = client.get("/console/reports/").content.decode()
    link = re.search(
        r'data-metric="tickets_opened">\s*<dt>[^<]*</dt>\s*<dd><a href="([^"]+)"', html
    ).group(1)
    drill = client.get(link.replace("&amp;", "&"))
    assert drill.status_code == 200
    page = drill.content.decode()
    numbers = re.findall(r'<a href="/console/tickets/(T-\d+)/">', page)
    assert sorted(numbers) == sorted(Ticket.objects.values_list("number", flat=True))


def test_the_drilldown_lists_the_rated_chats_behind_csat(client, world, supervisor):
    client.force_login(supervisor)
    page = client.get("/console/reports/drilldown/?metric=csat_avg").content.decode()
    rated = Conversation.objects.filter(rating_score__isnull=False)
    links = re.findall(r'href="/console/floor/([0-9a-f-]+)/"', page)
    assert sorted(links) == sorted(str(c.public_id) for c in rated)


def test_an_unknown_metric_or_bad_dates_are_a_400(client, world, supervisor):
    client.force_login(supervisor)
    assert client.get("/console/reports/drilldown/?metric=drop_tables").status_code == 400
    assert (
        client.get("/console/reports/?date_from=2026-03-10&date_to=2026-03-01").status_code == 400
    )
    assert (
        client.get("/console/reports/?date_from=2025-01-01&date_to=2026-01-01").status_code == 400
    )


def test_targets_show_against_actuals(client, world, supervisor, support):
    boris, _sara = world
    KpiTarget.objects.create(department=support, metric="csat_avg", value=4.5, period="month")
    KpiTarget.objects.create(agent=boris, metric="chats_total", value=7, period="week")
    client.force_login(supervisor)
    today = timezone.localdate()
    html = client.get(
        f"/console/reports/?date_from={today - datetime.timedelta(days=13)}&date_to={today}"
    ).content.decode()
    rows = re.findall(
        r'<tr data-target="\d+"><th scope="row">([^<]+)</th><td>([^<]+)</td><td>([^<]+)', html
    )
    assert ("Boris", "Chats", "14 ") in rows  # 7 a week over 14 days
    csat = re.search(r"Support</th><td>CSAT \(1-5\)</td>.*?</tr>", html, re.S).group(0)
    assert "4.00" in csat and "Not met" in csat
    chats = re.search(r"Boris</th><td>Chats</td>.*?</tr>", html, re.S).group(0)
    assert ">2<" in chats and "Not met" in chats


def test_a_target_is_for_a_team_or_an_agent_never_both(support, supervisor):
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError, transaction

    both = KpiTarget(department=support, agent=supervisor, metric="csat_avg", value=4)
    with pytest.raises(ValidationError):
        both.clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        KpiTarget.objects.create(metric="csat_avg", value=4)
    lower = KpiTarget(department=support, metric="wait_s_median", value=60, period="day")
    assert lower.lower_is_better and lower.value_for_days(30) == 60


def test_values_read_as_people_read_them():
    assert display("wait_s_median", 95.4) == "1:35"
    assert display("sla_resolution_met_pct", 87.5) == "87.5 %"
    assert display("csat_avg", 4) == "4.00"
    assert display("cost_per_ticket", {"EUR": 12.5, "USD": 3.0}) == "12.50 EUR, 3.00 USD"
    assert display("chats_total", None) == "—"


def test_first_responses_fall_into_bins():
    bins = first_response_bins([5, 29.9, 30, 61, 4000])
    assert [count for _label, count in bins] == [2, 1, 1, 0, 0, 0, 1]
    assert bins[0][0] == "0:00–0:30" and bins[-1][0] == "≥ 1:00:00"


def test_without_dates_the_form_shows_the_last_thirty_days(client, world, supervisor):
    client.force_login(supervisor)
    html = client.get("/console/reports/").content.decode()
    today = timezone.localdate()
    assert f'name="date_to" value="{today.isoformat()}"' in html
    assert f'name="date_from" value="{(today - datetime.timedelta(days=29)).isoformat()}"' in html
