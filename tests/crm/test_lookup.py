from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from crm.lookup import (
    InvalidEmail,
    OpenTicketSummary,
    find_contact_by_email,
    find_contact_by_phone,
    match_phone,
    open_tickets,
    register_open_tickets_source,
    unregister_open_tickets_source,
)
from crm.models import Contact, ContactPhone, Organization
from crm.phones import InvalidPhoneNumber
from crm.record import contact_record

TODAY = dt.date(2026, 12, 1)


@pytest.mark.parametrize(
    "number", ["+40 721 234 567", "+40721234567", "0721 234 567", "0040721234567", "0721-234-567"]
)
def test_it_finds_maria_by_her_number_in_any_format(maria, number):
    contact = find_contact_by_phone(number)
    assert contact == maria
    record = contact_record(contact, today=TODAY)
    [asset] = [a for a in record["assets"] if a["serial_number"] == "RZA-2024-0001"]
    assert asset["in_warranty"] is True
    assert asset["warranty_end"] == dt.date(2034, 6, 30)
    assert asset["product"] == {
        "name": "RZA-500",
        "line": "Relay protection",
        "brand": "Chatportal Energy",
    }
    [contract] = record["contracts"]
    assert contract["plan"] == "Gold 24x7"
    assert contract["active"] is True
    assert contract["first_response_minutes"] == 60
    assert contract["resolution_minutes"] == 480
    assert contract["renewal_date"] == dt.date(2027, 6, 30)


@pytest.mark.parametrize(
    "email", ["customer1@example.com", "CUSTOMER1@Example.COM", "  customer1@example.com "]
)
def test_it_finds_maria_by_email_whatever_the_case(maria, email):
    assert find_contact_by_email(email) == maria


def test_it_finds_nobody_for_an_unknown_but_valid_number(demo):
    assert find_contact_by_phone("+40 722 000 111") is None
    assert find_contact_by_email("nobody@example.com") is None


def test_it_refuses_input_that_is_no_number_or_address(demo):
    with pytest.raises(InvalidPhoneNumber):
        find_contact_by_phone("hello")
    with pytest.raises(InvalidEmail):
        find_contact_by_email("not-an-address")
    with pytest.raises(InvalidEmail):
        find_contact_by_email("a" * 250 + "@example.com")


def test_it_reads_a_local_number_in_the_regions_of_organizations_when_the_site_region_fails(demo):
    # "8 914 …" is not a Romanian number; Dalenergo is in RU, so it is read there.
    elena = Contact.objects.get(external_id="crm-5")
    assert find_contact_by_phone("8 914 123-45-67") == elena
    assert match_phone("8 (914) 123 45 67").number == "+79141234567"


def test_it_matches_another_region_only_against_organizations_of_that_region(db):
    german = Organization.objects.create(name="Stadtwerke", default_region="DE")
    romanian = Organization.objects.create(name="Hidro SRL", default_region="RO")
    hans = Contact.objects.create(name="Hans Weber", organization=german)
    ion = Contact.objects.create(name="Ion Pop", organization=romanian)
    # The same digits, local in Germany: 030 1234567 -> +49301234567.
    ContactPhone.objects.create(contact=hans, number="+49301234567")
    ContactPhone.objects.create(contact=ion, number="+49301234567")
    assert find_contact_by_phone("030 1234567") == hans


@override_settings(CHATPORTAL_DEFAULT_REGION="RO")
def test_it_prefers_the_site_region_reading_to_other_regions(db):
    # "0264 123 456" is valid in Romania (+40264123456) and in Germany (+49264123456).
    german = Organization.objects.create(name="Stadtwerke", default_region="DE")
    hans = Contact.objects.create(name="Hans Weber", organization=german)
    ion = Contact.objects.create(name="Ion Pop")
    ContactPhone.objects.create(contact=hans, number="+49264123456")
    ContactPhone.objects.create(contact=ion, number="+40264123456")
    assert find_contact_by_phone("0264 123 456") == ion
    ContactPhone.objects.filter(contact=ion).delete()
    assert find_contact_by_phone("0264 123 456") == hans


def test_it_prefers_a_primary_phone_then_the_oldest_contact_when_a_number_is_shared(db):
    first = Contact.objects.create(name="First")
    second = Contact.objects.create(name="Second")
    third = Contact.objects.create(name="Third")
    ContactPhone.objects.create(contact=first, number="+40721000001")
    ContactPhone.objects.create(contact=second, number="+40721000001")
    assert find_contact_by_phone("0721 000 001") == first
    ContactPhone.objects.create(contact=third, number="+40721000001", is_primary=True)
    assert find_contact_by_phone("0721 000 001") == third


def test_it_asks_registered_sources_for_open_tickets_newest_first(maria):
    at = dt.datetime(2026, 11, 30, 9, 0, tzinfo=dt.UTC)

    def tickets(contact):
        assert contact == maria
        return [
            OpenTicketSummary("T-1", "Old", "open", "normal", at, at),
            OpenTicketSummary("T-2", "New", "new", "high", at, at + dt.timedelta(hours=1)),
        ]

    def broken(contact):
        raise RuntimeError("tickets app is down")

    register_open_tickets_source("test-tickets", tickets)
    register_open_tickets_source("test-broken", broken)
    try:
        assert [t.number for t in open_tickets(maria)] == ["T-2", "T-1"]
        record = contact_record(maria, today=TODAY)
        assert [t["number"] for t in record["open_tickets"]] == ["T-2", "T-1"]
    finally:
        unregister_open_tickets_source("test-tickets")
        unregister_open_tickets_source("test-broken")
    assert open_tickets(maria) == []


def test_it_builds_the_whole_record_in_a_few_queries(maria, django_assert_max_num_queries):
    # contact, e-mails, phones, assets, contracts, open tickets (from the tickets app), calls
    with django_assert_max_num_queries(7):
        record = contact_record(maria, today=TODAY)
    assert record["id"] == str(maria.public_id)
    assert record["organization"]["name"] == "Electrica Nord SRL"
    assert record["account_owner"] == "boris"
    assert record["external_id"] == "crm-1"
    assert "customer1@example.com" in [e["email"] for e in record["emails"]]
    assert record["phones"][0] == {
        "number": "+40721234567",
        "display": "+40 721 234 567",
        "label": "mobile",
        "is_primary": True,
    }


def test_it_stores_phones_as_e164_whoever_creates_them(db):
    russian = Organization.objects.create(name="Sibenergo Test", default_region="RU")
    contact = Contact.objects.create(name="Oleg", organization=russian)
    phone = ContactPhone.objects.create(contact=contact, number="8 (383) 210-11-22")
    assert phone.number == "+73832101122"
    assert find_contact_by_phone("+7 383 210 11 22") == contact
