"""A contact from what a visitor typed: checked, normalized, never a duplicate."""

from __future__ import annotations

import pytest

from crm.actions import InvalidPrefill, create_contact_from_prefill
from crm.models import Contact, ContactPhone
from tests.factories import make_contact

pytestmark = pytest.mark.django_db


def test_it_creates_a_contact_with_the_typed_email_and_phone(settings):
    settings.CHATPORTAL_DEFAULT_REGION = "RO"
    made = create_contact_from_prefill(
        name="  Ion   Popescu ", email="Ion@Example.COM", phone="0721 234 567", locale="ro"
    )
    assert made.created
    contact = made.contact
    assert (contact.name, contact.locale) == ("Ion Popescu", "ro")
    assert list(contact.emails.values_list("email", "is_primary")) == [("ion@example.com", True)]
    assert list(contact.phones.values_list("number", "is_primary")) == [("+40721234567", True)]


def test_it_reuses_the_contact_that_has_the_email():
    maria = make_contact("Maria Popescu", email="maria@example.com")
    made = create_contact_from_prefill(name="M. P.", email=" MARIA@example.com ")
    assert (made.contact, made.created) == (maria, False)
    assert Contact.objects.count() == 1


def test_it_reuses_the_contact_that_has_the_phone_in_another_format():
    maria = make_contact("Maria Popescu")
    ContactPhone.objects.create(contact=maria, number="+40721234567")
    made = create_contact_from_prefill(name="Maria", phone="0040 721 234 567")
    assert (made.contact, made.created) == (maria, False)


def test_a_name_alone_is_enough_and_an_email_alone_names_the_contact():
    assert create_contact_from_prefill(name="Walk-in").contact.name == "Walk-in"
    assert create_contact_from_prefill(email="x@example.com").contact.name == "x@example.com"


@pytest.mark.parametrize(
    "fields",
    [{}, {"name": "   "}, {"email": "not-an-address"}, {"name": "A", "phone": "12"}],
)
def test_it_refuses_nothing_or_bad_details_and_writes_nothing(fields):
    with pytest.raises(InvalidPrefill):
        create_contact_from_prefill(**fields)
    assert Contact.objects.count() == 0


def test_a_contact_made_a_moment_ago_with_the_email_is_reused_not_duplicated(monkeypatch):
    import crm.actions

    real = crm.actions._contact_with
    calls = []

    def late(email, number):
        calls.append(email)
        if len(calls) == 1:
            # Another agent creates the contact between our lookup and our insert.
            make_contact("Maria Popescu", email="maria@example.com")
            return None
        return real(email, number)

    monkeypatch.setattr(crm.actions, "_contact_with", late)
    made = create_contact_from_prefill(name="Maria P.", email="maria@example.com")
    assert (made.contact.name, made.created) == ("Maria Popescu", False)
    assert Contact.objects.count() == 1
