"""Find anyone: each field, the ranking, the ticket source, validation."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from crm.models import Asset, Contact, Organization, Product
from crm.search import InvalidQuery, clean_query, phone_prefix, search
from queues.models import Department
from tickets.actions.messages import create_ticket
from tickets.models import Ticket, TicketEvent


@pytest.fixture
def boris(demo):
    return get_user_model().objects.get(username="boris")


def contact_ids(hits, **where):
    return [hit.contact_id for hit in hits if all(getattr(hit, k) == v for k, v in where.items())]


@pytest.mark.parametrize("query", ["0721 234 567", "+40 721 234 567", "0040721234567"])
def test_it_finds_maria_by_phone_in_three_formats(maria, boris, query):
    hits = search(query, user=boris)
    assert hits[0].contact_id == str(maria.public_id)
    assert hits[0].matched == "phone"
    assert hits[0].tier == 0
    assert hits[0].detail.startswith("+40 721 234 567")
    assert hits[0].url == f"/console/contacts/{maria.public_id}/"


def test_it_finds_the_start_of_a_number(maria, boris):
    hits = search("0721 23", user=boris)
    assert str(maria.public_id) in contact_ids(hits, matched="phone", tier=1)
    assert phone_prefix("0721 23") == "+4072123"
    assert phone_prefix("+7 383") == "+7383"
    assert phone_prefix("007 383") == "+7383"
    assert phone_prefix("721 23") is None


def test_it_finds_a_local_number_of_another_region(demo, boris):
    # Dmitry's office is a Novosibirsk number; his organization reads it in RU.
    dmitry = Contact.objects.get(external_id="crm-4")
    Organization.objects.filter(pk=dmitry.organization_id).update(default_region="RU")
    hits = search("8 383 210-45-67", user=boris)
    assert hits[0].contact_id == str(dmitry.public_id)


def test_it_finds_by_email_exact_then_prefix(maria, boris):
    hits = search("Customer1@Example.com", user=boris)
    assert hits[0].contact_id == str(maria.public_id)
    assert (hits[0].matched, hits[0].tier) == ("email", 0)
    prefix = search("maria.pop", user=boris)
    assert str(maria.public_id) in contact_ids(prefix, matched="email")


def test_it_finds_by_serial_number_whatever_the_case(maria, boris):
    exact = search("rza-2024-0001", user=boris)
    assert exact[0].contact_id == str(maria.public_id)
    assert (exact[0].matched, exact[0].tier, exact[0].detail) == (
        "serial",
        0,
        "RZA-2024-0001 · Electrica Nord SRL",
    )
    # A prefix finds both RZA units: Maria's and Andrei's.
    both = search("RZA-2024", user=boris)
    andrei = Contact.objects.get(external_id="crm-2")
    assert {str(maria.public_id), str(andrei.public_id)} <= set(contact_ids(both, matched="serial"))


def test_a_unit_of_the_organization_finds_its_people(maria, boris):
    product = Product.objects.get(name="RZA-500")
    Asset.objects.create(product=product, organization=maria.organization, serial_number="ORG-77")
    hits = search("ORG-77", user=boris)
    andrei = Contact.objects.get(external_id="crm-2")
    assert set(contact_ids(hits, matched="serial", tier=0)) == {
        str(maria.public_id),
        str(andrei.public_id),
    }


def test_it_finds_by_organization_name(maria, boris):
    hits = search("electrica", user=boris)
    andrei = Contact.objects.get(external_id="crm-2")
    found = contact_ids(hits, matched="organization")
    assert found == [str(andrei.public_id), str(maria.public_id)]  # by name
    assert hits[0].detail == "Electrica Nord SRL"
    # A word inside the name: a substring match, ranked after prefixes.
    inside = search("nord", user=boris)
    assert str(maria.public_id) in contact_ids(inside, matched="organization", tier=2)


def test_it_finds_by_name_exact_before_prefix_before_substring(demo, boris):
    exact = Contact.objects.create(name="Popa")
    prefix = Contact.objects.create(name="Popa Ion")
    substring = Contact.objects.create(name="Ion Popa")
    hits = [hit for hit in search("popa", user=boris) if hit.matched == "name"]
    assert [hit.contact_id for hit in hits[:3]] == [
        str(exact.public_id),
        str(prefix.public_id),
        str(substring.public_id),
    ]
    assert [hit.tier for hit in hits[:3]] == [0, 1, 2]


def test_one_contact_appears_once_under_its_best_match(maria, boris):
    hits = search("maria", user=boris)
    assert contact_ids(hits).count(str(maria.public_id)) == 1


@pytest.mark.parametrize("query", ["xi", "xim"])
def test_under_four_characters_search_prefixes_only(demo, boris, query):
    Contact.objects.create(name="Ximena")
    Contact.objects.create(name="Alex Ximenez")
    names = [hit.title for hit in search(query, user=boris)]
    assert names == ["Ximena"]
    assert [hit.title for hit in search("xime", user=boris)] == ["Ximena", "Alex Ximenez"]


def test_it_escapes_like_wildcards(demo, boris):
    Contact.objects.create(name="All% Reliable")
    Contact.objects.create(name="Allan Reliable")
    assert search("%%", user=boris) == []
    assert [hit.title for hit in search("all% r", user=boris)] == ["All% Reliable"]
    assert [hit.title for hit in search("al_an", user=boris)] == []


def test_it_honours_the_limit(demo, boris):
    Contact.objects.bulk_create(Contact(name=f"Zed {i:02d}") for i in range(30))
    assert len(search("zed", user=boris, limit=5)) == 5
    assert len(search("zed", user=boris, limit=500)) == 30  # capped at 50, 30 exist


@pytest.mark.parametrize("query", ["", " ", "a", "  b  ", "x" * 101])
def test_it_refuses_queries_too_short_or_too_long(query):
    with pytest.raises(InvalidQuery):
        clean_query(query)


def test_it_collapses_whitespace():
    assert clean_query("  maria   popescu ") == "maria popescu"


# --- tickets (a source tickets registers) ------------------------------------------


def open_ticket(department, contact=None, subject="Relay trips"):
    return create_ticket(
        subject=subject,
        body="It trips.",
        contact=contact,
        channel=Ticket.Channel.PORTAL,
        department=department,
        priority="normal",
        author_role=TicketEvent.Role.CUSTOMER if contact else TicketEvent.Role.SYSTEM,
        author_contact=contact,
    )


@pytest.mark.parametrize("spelling", ["{number}", "{lower}", "{digits}"])
def test_it_finds_a_ticket_by_number(maria, boris, spelling):
    ticket = open_ticket(Department.objects.get(slug="support"), maria)
    digits = ticket.number.removeprefix("T-")
    query = spelling.format(number=ticket.number, lower=ticket.number.lower(), digits=digits)
    hits = search(query, user=boris)
    [hit] = [hit for hit in hits if hit.kind == "ticket" and hit.tier == 0]
    assert hit.id == ticket.number
    assert hit.title == f"{ticket.number} Relay trips"
    assert hit.contact_id == str(maria.public_id)
    # It opens the contact's page, where the ticket is on the timeline.
    assert hit.url == f"/console/contacts/{maria.public_id}/"
    assert hits[0] == hit  # an exact ticket number beats everything


def test_short_ticket_numbers_match_only_exactly(maria, boris):
    support = Department.objects.get(slug="support")
    first = open_ticket(support, maria)
    for _ in range(11):
        open_ticket(support, maria)
    # Three digits: T-100 itself (none), never the T-100x it starts.
    assert not [hit for hit in search(first.number[:-1], user=boris) if hit.kind == "ticket"]
    exact, *longer = [hit for hit in search(first.number, user=boris) if hit.kind == "ticket"]
    assert (exact.id, exact.tier) == (first.number, 0)
    assert all(hit.id.startswith(first.number) and hit.tier == 1 for hit in longer)


def test_a_ticket_without_contact_opens_itself(demo, boris):
    ticket = open_ticket(Department.objects.get(slug="support"))
    [hit] = [hit for hit in search(ticket.number, user=boris) if hit.kind == "ticket"]
    assert hit.contact_id is None
    assert hit.url == f"/console/tickets/{ticket.number}/"


def test_an_agent_does_not_find_another_departments_ticket(maria, boris):
    ticket = open_ticket(Department.objects.get(slug="billing"), maria)
    assert not [hit for hit in search(ticket.number, user=boris) if hit.kind == "ticket"]
    dana = get_user_model().objects.get(username="dana")
    assert [hit.id for hit in search(ticket.number, user=dana) if hit.kind == "ticket"] == [
        ticket.number
    ]


def test_a_failing_source_is_left_out(maria, boris, monkeypatch):
    import crm.search

    def broken(query, user, limit):
        raise RuntimeError("boom")

    monkeypatch.setitem(crm.search._sources, "broken", broken)
    assert search("0721 234 567", user=boris)[0].contact_id == str(maria.public_id)
