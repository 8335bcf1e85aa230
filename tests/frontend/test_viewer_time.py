"""Dates in the viewer's zone and pages in their language (issue #15, "their time").

Expected texts are computed with zoneinfo (not with the code under test):
Bucharest leaves summer time on 2026-10-25 at 01:00 UTC, so 00:30 UTC and
01:30 UTC are both 03:30 on the wall there (EEST, then EET); Moscow (+03)
and Vladivostok (+10) keep one offset all year.
"""

from __future__ import annotations

import datetime
import json
import re
import zoneinfo

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format

from crm.actions import set_contact_time_zone
from crm.models import Contact
from queues.actions import set_agent_preferences
from queues.models import AgentProfile
from tests.factories import make_agent, make_contact, make_department
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent

UTC = datetime.UTC
BEFORE_CHANGE = datetime.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
AFTER_CHANGE = datetime.datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
ZONES = ["Europe/Bucharest", "Europe/Moscow", "Asia/Vladivostok"]


def wall(moment: datetime.datetime, zone: str, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).strftime(fmt)


def render(source: str, **context) -> str:
    return Template("{% load local_time %}" + source).render(Context(context))


# --- the tags -------------------------------------------------------------------------


def test_the_dst_change_in_bucharest_reads_0330_twice_told_apart_by_the_utc_attribute():
    assert wall(BEFORE_CHANGE, "Europe/Bucharest") == "2026-10-25 03:30 EEST"
    assert wall(AFTER_CHANGE, "Europe/Bucharest") == "2026-10-25 03:30 EET"
    with timezone.override(zoneinfo.ZoneInfo("Europe/Bucharest")):
        before = render('{% local_time when "Y-m-d H:i" %}', when=BEFORE_CHANGE)
        after = render('{% local_time when "Y-m-d H:i" %}', when=AFTER_CHANGE)
    assert before == '<time datetime="2026-10-25T00:30:00.000Z">2026-10-25 03:30</time>'
    assert after == '<time datetime="2026-10-25T01:30:00.000Z">2026-10-25 03:30</time>'


def test_the_abbreviation_follows_the_season_away_from_the_repeated_hour():
    day_before = BEFORE_CHANGE - datetime.timedelta(days=1)
    day_after = AFTER_CHANGE + datetime.timedelta(days=1)
    assert wall(day_before, "Europe/Bucharest") == "2026-10-24 03:30 EEST"
    assert wall(day_after, "Europe/Bucharest") == "2026-10-26 03:30 EET"
    with timezone.override(zoneinfo.ZoneInfo("Europe/Bucharest")):
        before = render('{% local_time when "Y-m-d H:i T" %}', when=day_before)
        after = render('{% local_time when "Y-m-d H:i T" %}', when=day_after)
    assert before == '<time datetime="2026-10-24T00:30:00.000Z">2026-10-24 03:30 EEST</time>'
    assert after == '<time datetime="2026-10-26T01:30:00.000Z">2026-10-26 03:30 EET</time>'


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("moment", [BEFORE_CHANGE, AFTER_CHANGE])
def test_local_time_writes_utc_in_the_attribute_and_the_zone_in_the_text(zone, moment):
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        html = render('{% local_time when "Y-m-d H:i" %}', when=moment)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert html == f'<time datetime="{stamp}">{wall(moment, zone, "%Y-%m-%d %H:%M")}</time>'


def test_the_three_zones_differ_as_zoneinfo_says():
    texts = {}
    for zone in ZONES:
        with timezone.override(zoneinfo.ZoneInfo(zone)):
            texts[zone] = render('{% local_time when "H:i" %}', when=AFTER_CHANGE)
    assert [re.sub("<[^>]+>", "", texts[zone]) for zone in ZONES] == ["03:30", "04:30", "11:30"]


def test_local_time_escapes_its_class_and_ignores_what_is_not_a_moment():
    assert render("{% local_time nothing %}", nothing=None) == ""
    assert render("{% local_time junk %}", junk="not a date") == ""
    html = render('{% local_time when "H:i" css_class=cls %}', when=AFTER_CHANGE, cls='"><b>')
    assert html.startswith('<time class="&quot;&gt;&lt;b&gt;" datetime=')


def test_local_time_writes_a_calendar_date_as_it_is():
    html = render('{% local_time day "Y-m-d" %}', day=datetime.date(2026, 10, 25))
    assert html == '<time datetime="2026-10-25">2026-10-25</time>'


def test_local_clock_reads_the_time_now_in_the_customers_city():
    now = datetime.datetime(2026, 12, 7, 4, 5, tzinfo=UTC)
    html = render("{% local_clock zone now %}", zone="Asia/Vladivostok", now=now)
    assert wall(now, "Asia/Vladivostok", "%H:%M") == "14:05"
    assert '<time datetime="2026-12-07T04:05:00.000Z">2:05 p.m.</time> in Vladivostok' in html
    with translation.override("ru"):
        assert "14:05" in render("{% local_clock zone now %}", zone="Asia/Vladivostok", now=now)


@pytest.mark.parametrize("zone", ["", "UTC", "Mars/Olympus", None])
def test_local_clock_says_nothing_for_an_unknown_zone(zone):
    assert render("{% local_clock zone %}", zone=zone) == ""


# --- people ---------------------------------------------------------------------------

PASSWORD = "demo-pass-123"


def make_customer(email: str = "maria@example.com", *, zone: str = "UTC", locale: str = "en"):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    contact = make_contact("Maria Popescu", email=email)
    contact.portal_user = user
    contact.time_zone = zone
    contact.locale = locale
    contact.save()
    return user, contact


def open_ticket(contact: Contact, *, updated_at=AFTER_CHANGE, due=BEFORE_CHANGE) -> Ticket:
    ticket = create_ticket(
        subject="Relay trips at night",
        body="It trips.",
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=make_department("support"),
        author_role=TicketEvent.Role.CUSTOMER,
        author_contact=contact,
    )
    Ticket.objects.filter(pk=ticket.pk).update(updated_at=updated_at, first_response_due=due)
    ticket.refresh_from_db()
    return ticket


def signed_in(user, **kwargs) -> Client:
    client = Client(**kwargs)
    client.force_login(user)
    return client


def english_time(moment: datetime.datetime, zone: str, fmt: str = "DATETIME_FORMAT") -> str:
    """What an English page writes for `moment` in `zone`: zoneinfo converts, Django formats."""
    with translation.override("en"):
        text = date_format(moment.astimezone(zoneinfo.ZoneInfo(zone)), fmt)
    return f'<time datetime="{moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")}">{text}</time>'


# --- pages in the viewer's zone (middleware) ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ZONES)
def test_the_portal_shows_the_customers_tickets_in_the_contacts_zone(zone):
    user, contact = make_customer(zone=zone)
    ticket = open_ticket(contact)
    listing = signed_in(user).get(reverse("portal")).content.decode()
    assert english_time(AFTER_CHANGE, zone) in listing
    page = signed_in(user).get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    assert english_time(BEFORE_CHANGE, zone) in page  # the promised answer time


@pytest.mark.django_db
def test_the_promise_across_the_dst_change_reads_0330_in_bucharest():
    user, contact = make_customer(zone="Europe/Bucharest")
    ticket = open_ticket(contact, due=BEFORE_CHANGE)
    page = signed_in(user).get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    assert '<time datetime="2026-10-25T00:30:00.000Z">Oct. 25, 2026, 3:30 a.m.</time>' in page
    Ticket.objects.filter(pk=ticket.pk).update(first_response_due=AFTER_CHANGE)
    page = signed_in(user).get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    assert '<time datetime="2026-10-25T01:30:00.000Z">Oct. 25, 2026, 3:30 a.m.</time>' in page


@pytest.mark.django_db
def test_the_console_shows_dates_in_the_agents_own_zone(support):
    agent = make_agent("boris", [support])
    set_agent_preferences(AgentProfile.objects.get(user=agent), time_zone="Asia/Vladivostok")
    _user, contact = make_customer(zone="Europe/Bucharest")
    ticket = open_ticket(contact)
    Ticket.objects.filter(pk=ticket.pk).update(department=support)
    page = signed_in(agent).get(reverse("console_tickets")).content.decode()
    assert english_time(AFTER_CHANGE, "Asia/Vladivostok", "SHORT_DATETIME_FORMAT") in page


@pytest.mark.django_db
def test_an_agent_without_a_zone_sees_the_one_their_browser_reported(support):
    agent = make_agent("boris", [support])
    _user, contact = make_customer()
    ticket = open_ticket(contact)
    Ticket.objects.filter(pk=ticket.pk).update(department=support)
    client = signed_in(agent)
    first = client.get(reverse("console_tickets")).content.decode()
    assert english_time(AFTER_CHANGE, "UTC", "SHORT_DATETIME_FORMAT") in first
    assert "data-report-zone-url" in first  # the page asks the browser
    client.post(reverse("report_time_zone"), {"time_zone": "Europe/Moscow"})
    second = client.get(reverse("console_tickets")).content.decode()
    assert english_time(AFTER_CHANGE, "Europe/Moscow", "SHORT_DATETIME_FORMAT") in second
    assert "data-report-zone-url" not in second
    # Blank means "the browser's": the profile keeps no zone.
    assert AgentProfile.objects.get(user=agent).time_zone == ""


@pytest.mark.django_db
def test_the_zone_is_not_left_active_after_the_request():
    user, contact = make_customer(zone="Asia/Vladivostok")
    open_ticket(contact)
    signed_in(user).get(reverse("portal"))
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


@pytest.mark.django_db
def test_the_crm_panel_shows_the_customers_local_time(support):
    from frontend.views_contacts import contact_page  # noqa: F401 (the page exists)

    agent = make_agent("boris", [support])
    _user, contact = make_customer(zone="Asia/Vladivostok")
    page = signed_in(agent).get(reverse("console_contact", args=[contact.public_id]))
    text = page.content.decode()
    assert 'data-time-zone="Asia/Vladivostok"' in text
    assert "in Vladivostok" in text


# --- the browser's zone ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_with_the_utc_default_takes_the_browsers_zone():
    user, contact = make_customer(zone="UTC")
    client = signed_in(user)
    assert "data-report-zone-url" in client.get(reverse("portal")).content.decode()
    answer = client.post(reverse("report_time_zone"), {"time_zone": "Asia/Vladivostok"})
    assert answer.status_code == 200
    assert answer.json() == {"time_zone": "Asia/Vladivostok", "saved": True}
    contact.refresh_from_db()
    assert contact.time_zone == "Asia/Vladivostok"
    assert "data-report-zone-url" not in client.get(reverse("portal")).content.decode()


@pytest.mark.django_db
def test_the_browser_never_overrides_a_zone_someone_set():
    user, contact = make_customer(zone="Europe/Bucharest")
    client = signed_in(user)
    assert "data-report-zone-url" not in client.get(reverse("portal")).content.decode()
    answer = client.post(
        reverse("report_time_zone"),
        json.dumps({"time_zone": "Europe/Moscow"}),
        content_type="application/json",
    )
    assert answer.json() == {"time_zone": "Europe/Moscow", "saved": False}
    contact.refresh_from_db()
    assert contact.time_zone == "Europe/Bucharest"
    # The stored zone is what the customer's pages use.
    ticket = open_ticket(contact)
    page = client.get(reverse("portal_ticket", args=[ticket.number])).content.decode()
    assert english_time(BEFORE_CHANGE, "Europe/Bucharest") in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "zone", ["", "EEST", "+03:00", "Europe/Atlantis", "../../etc/passwd", "A" * 300]
)
def test_an_invalid_zone_is_refused_with_400(zone):
    user, contact = make_customer()
    answer = signed_in(user).post(reverse("report_time_zone"), {"time_zone": zone})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid"
    contact.refresh_from_db()
    assert contact.time_zone == "UTC"


@pytest.mark.django_db
def test_the_zone_report_needs_the_csrf_token_and_a_signed_in_viewer():
    user, contact = make_customer()
    client = signed_in(user, enforce_csrf_checks=True)
    answer = client.post(reverse("report_time_zone"), {"time_zone": "Europe/Moscow"})
    assert answer.status_code == 403
    contact.refresh_from_db()
    assert contact.time_zone == "UTC"
    page = client.get(reverse("portal")).content.decode()
    token = re.search(r'data-csrf="([^"]+)"', page).group(1)
    answer = client.post(
        reverse("report_time_zone"), {"time_zone": "Europe/Moscow"}, HTTP_X_CSRFTOKEN=token
    )
    assert answer.status_code == 200
    contact.refresh_from_db()
    assert contact.time_zone == "Europe/Moscow"
    anonymous = Client().post(reverse("report_time_zone"), {"time_zone": "Europe/Moscow"})
    assert anonymous.status_code == 403
    assert Client().get(reverse("report_time_zone")).status_code == 405


@pytest.mark.django_db
def test_set_contact_time_zone_refuses_a_bad_name_and_fills_only_an_unknown_zone():
    contact = make_contact("Ivan")
    with pytest.raises(ValueError):
        set_contact_time_zone(contact, "Moscow")
    assert set_contact_time_zone(contact, "Europe/Moscow", only_if_unknown=True)
    assert not set_contact_time_zone(contact, "Asia/Vladivostok", only_if_unknown=True)
    assert set_contact_time_zone(contact, "Asia/Vladivostok")
    assert Contact.objects.get(pk=contact.pk).time_zone == "Asia/Vladivostok"


# --- the language ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_sees_the_portal_in_the_contacts_language_until_they_choose():
    user, _contact = make_customer(locale="ro")
    client = signed_in(user)
    page = client.get(reverse("portal"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="ro">' in page and "Tichetele mele" in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "ru"
    page = client.get(reverse("portal")).content.decode()
    assert '<html lang="ru">' in page


@pytest.mark.django_db
def test_the_language_switch_sets_the_cookie_and_saves_it_on_the_contact():
    user, contact = make_customer(locale="en")
    client = signed_in(user)
    page = client.get(reverse("portal")).content.decode()
    assert '<label for="language-switch">Language</label>' in page
    assert 'action="/i18n/setlang/"' in page
    answer = client.post("/i18n/setlang/", {"language": "ro", "next": "/portal/"})
    assert answer.status_code == 302 and answer["Location"] == "/portal/"
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ro"
    contact.refresh_from_db()
    assert contact.locale == "ro"
    # Another device (no cookie) follows the saved choice.
    assert "Tichetele mele" in signed_in(user).get(reverse("portal")).content.decode()


@pytest.mark.django_db
def test_the_language_switch_saves_the_agents_choice(support):
    agent = make_agent("boris", [support])
    client = signed_in(agent)
    page = client.get(reverse("console_tickets")).content.decode()
    assert 'id="language-switch"' in page
    client.post("/i18n/setlang/", {"language": "ru", "next": "/console/tickets/"})
    assert AgentProfile.objects.get(user=agent).language == "ru"
    page = signed_in(agent).get(reverse("console_tickets")).content.decode()
    assert '<html lang="ru">' in page


@pytest.mark.django_db
def test_an_unknown_language_is_not_saved():
    user, contact = make_customer(locale="en")
    signed_in(user).post("/i18n/setlang/", {"language": "xx", "next": "/portal/"})
    contact.refresh_from_db()
    assert contact.locale == "en"


# --- the agent's settings page --------------------------------------------------------


@pytest.mark.django_db
def test_an_agent_picks_a_zone_and_a_language_in_the_settings(support):
    agent = make_agent("boris", [support])
    client = signed_in(agent)
    page = client.get(reverse("console_settings")).content.decode()
    assert '<label for="settings-time-zone">Time zone</label>' in page
    assert '<option value="Asia/Vladivostok">Asia/Vladivostok</option>' in page
    answer = client.post(
        reverse("console_settings"), {"time_zone": "Europe/Moscow", "language": "ro"}
    )
    assert answer.status_code == 302
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.time_zone, profile.language) == ("Europe/Moscow", "ro")
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "ro"
    page = client.get(reverse("console_settings")).content.decode()
    assert '<option value="Europe/Moscow" selected>Europe/Moscow</option>' in page
    assert '<html lang="ro">' in page


@pytest.mark.django_db
def test_the_settings_refuse_an_unknown_zone_or_language(support):
    agent = make_agent("boris", [support])
    client = signed_in(agent)
    answer = client.post(reverse("console_settings"), {"time_zone": "Mars/Base", "language": ""})
    assert answer.status_code == 400
    answer = client.post(reverse("console_settings"), {"time_zone": "", "language": "xx"})
    assert answer.status_code == 400
    assert AgentProfile.objects.get(user=agent).time_zone == ""


@pytest.mark.django_db
def test_the_settings_are_for_agents_only():
    user, _contact = make_customer()
    answer = signed_in(user).get(reverse("console_settings"))
    assert answer.status_code in (302, 403)


@pytest.mark.django_db
def test_the_console_transcript_clocks_get_the_agents_zone(support):
    agent = make_agent("boris", [support])
    client = signed_in(agent)

    def config():
        page = client.get(reverse("console")).content.decode()
        raw = re.search(r'<script id="console-config" type="application/json">(.*?)</script>', page)
        return json.loads(raw.group(1))

    assert config()["timeZone"] is None  # the browser's own
    set_agent_preferences(AgentProfile.objects.get(user=agent), time_zone="Asia/Vladivostok")
    assert config()["timeZone"] == "Asia/Vladivostok"


def test_zone_names_read_as_cities_and_languages_fall_back_to_their_base():
    from foundation.time_zones import city_of_zone, is_valid_zone, supported_language

    assert city_of_zone("Asia/Vladivostok") == "Vladivostok"
    assert city_of_zone("America/Argentina/Buenos_Aires") == "Buenos Aires"
    assert supported_language("ro-RO") == "ro"
    assert supported_language("RU") == "ru"
    assert supported_language("de") == ""
    assert is_valid_zone("Europe/Bucharest") and not is_valid_zone("EEST")
