"""GDPR export and erasure of a contact across crm, chat and tickets (crm/gdpr.py + parts)."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from chat.actions.conversations import check_visitor_message
from chat.actions.visitors import check_widget_hello
from chat.models import Conversation, Visitor
from chat.tokens import token_digest
from chatportal import cli
from crm.gdpr import REDACTED, erase_contact, export_contact, find_contact, redact_payload
from crm.models import CallRecord, Contact, ContactErasure
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

SECRET_BODY = "my meter number is 4471-XZ and I live on Strada Lunga 12"
PAGE = "https://shop.example.com/account/maria"


@pytest.fixture
def maria(db):
    call_command("seed_demo", verbosity=0)
    contact = find_contact("crm-1")
    CallRecord.objects.create(
        contact=contact, phone="+40721234567", direction="inbound", note="called about RZA"
    )
    return contact


@pytest.fixture
def maria_chat(maria):
    session = check_widget_hello(
        token=None,
        department_slug="support",
        profile={"name": "Maria P", "email": "maria.p@example.com"},
        identity=None,
        locale="ro",
    )
    visitor = session.visitor
    Visitor.objects.filter(pk=visitor.pk).update(contact=maria, external_id="crm-1")
    visitor.refresh_from_db()
    appended = check_visitor_message(
        visitor,
        conversation=None,
        department=session.department,
        client_id=uuid.uuid4(),
        body=SECRET_BODY,
        page_url=PAGE,
        page_title="My account",
    )
    return session.token, Conversation.objects.get(public_id=appended.conversation)


def dump(data) -> str:
    return json.dumps(data, ensure_ascii=False)


def test_it_finds_a_contact_by_id_email_or_external_id(maria):
    assert find_contact(str(maria.public_id)) == maria
    assert find_contact("Customer1@Example.com") == maria
    assert find_contact("crm-1") == maria
    with pytest.raises(LookupError):
        find_contact("nobody@example.com")
    with pytest.raises(LookupError):
        find_contact("   ")


def test_the_export_holds_the_crm_record_chats_tickets_and_calls(maria, maria_chat):
    data = export_contact(maria)
    text = dump(data)
    record = data["contact"]
    assert record["name"] == "Maria Popescu"
    assert {"email": "customer1@example.com", "is_primary": True} in record["emails"]
    assert record["phones"][0]["number"] == "+40721234567"
    assert record["assets"][0]["serial_number"] == "RZA-2024-0001"
    assert "called about RZA" in [call["note"] for call in record["calls"]]
    assert record["organization"]["name"] == "Electrica Nord SRL"
    conversation = data["chats"]["conversations"][0]
    assert conversation["page_url"] == PAGE
    assert [e["kind"] for e in conversation["events"]][:2] == ["queued", "message"]
    assert data["chats"]["visitors"][0]["email"] == "maria.p@example.com"
    assert SECRET_BODY in text
    numbers = {t["number"] for t in data["tickets"]}
    assert numbers == set(Ticket.objects.filter(contact=maria).values_list("number", flat=True))
    assert numbers and all(t["events"] for t in data["tickets"])


def test_erasure_removes_what_identifies_the_person_and_keeps_the_counts(maria, maria_chat):
    token, conversation = maria_chat
    before = export_contact(maria)
    subjects = [t["subject"] for t in before["tickets"]]
    tickets_before = Ticket.objects.filter(contact=maria).count()
    calls_before = CallRecord.objects.filter(contact=maria).count()
    statuses_before = sorted(Ticket.objects.filter(contact=maria).values_list("status", flat=True))
    other = Contact.objects.exclude(pk=maria.pk).filter(tickets__isnull=False).first()
    other_before = export_contact(other)

    erasure, created = erase_contact(maria, by="dpo@example.com")
    assert created and erasure.erased_by == "dpo@example.com"
    after = export_contact(Contact.objects.get(pk=maria.pk))
    text = dump(after)
    for personal in [
        "Popescu",
        "customer1@example.com",
        "+40721234567",
        "crm-1",
        SECRET_BODY,
        PAGE,
        "maria.p@example.com",
        "Maria P",
        "called about RZA",
        *subjects,
    ]:
        assert personal not in text, personal
    assert after["contact"]["emails"] == [] and after["contact"]["phones"] == []
    assert after["contact"]["erased_at"]
    # Counts for the KPIs stay: the rows, their states and times.
    assert Ticket.objects.filter(contact=maria).count() == tickets_before
    assert (
        sorted(Ticket.objects.filter(contact=maria).values_list("status", flat=True))
        == statuses_before
    )
    assert Conversation.objects.filter(pk=conversation.pk, contact=maria).exists()
    assert CallRecord.objects.filter(contact=maria).count() == calls_before
    message = next(
        e for e in after["chats"]["conversations"][0]["events"] if e["kind"] == "message"
    )
    assert message["body"] == REDACTED
    # The visitor link is cut and the browser's token brings nobody back.
    assert not Visitor.objects.filter(contact=maria).exists()
    assert not Visitor.objects.filter(token_hash=token_digest(token)).exists()
    # The portal login no longer works.
    maria.refresh_from_db()
    assert maria.portal_user is None
    # Someone else's data is untouched.
    assert export_contact(other)["tickets"] == other_before["tickets"]


def test_erasure_is_idempotent_and_keeps_one_record(maria, maria_chat):
    first, created = erase_contact(maria, by="dpo")
    again, created_again = erase_contact(maria, by="someone else")
    assert created and not created_again
    assert again.pk == first.pk and again.erased_by == "dpo"
    assert ContactErasure.objects.filter(contact=maria).count() == 1
    export_once = export_contact(Contact.objects.get(pk=maria.pk))
    erase_contact(maria, by="third")
    export_twice = export_contact(Contact.objects.get(pk=maria.pk))
    export_once.pop("exported_at"), export_twice.pop("exported_at")
    assert export_once == export_twice


def test_redaction_keeps_structure_ids_and_agent_names():
    payload = {
        "author": {"role": "visitor", "name": "Maria"},
        "body": "secret",
        "client_id": "abc",
        "messages": [
            {"role": "agent", "name": "Boris", "body": "hi Maria"},
            {"role": "visitor", "name": "M"},
        ],
        "seq": 3,
    }
    assert redact_payload(payload) == {
        "author": {"role": "visitor", "name": None},
        "body": REDACTED,
        "client_id": "abc",
        "messages": [
            {"role": "agent", "name": "Boris", "body": REDACTED},
            {"role": "visitor", "name": None},
        ],
        "seq": 3,
    }


# run_from_argv closes every connection when the command ends, as in production.
@pytest.mark.django_db(transaction=True)
def test_the_commands_export_to_a_private_file_and_erase_only_when_confirmed(
    maria, tmp_path, capsys
):
    out = tmp_path / "maria.json"
    cli.main(["chatportal", "gdpr-export", "customer1@example.com", "--output", str(out)])
    assert json.loads(out.read_text())["contact"]["name"] == "Maria Popescu"
    assert out.stat().st_mode & 0o777 == 0o600
    with pytest.raises(CommandError, match="--yes"):
        call_command("gdpr_erase", "crm-1")
    assert not ContactErasure.objects.exists()
    cli.main(["chatportal", "gdpr-erase", str(maria.public_id), "--yes", "--by", "ticket DPO-7"])
    assert "erased" in capsys.readouterr().out
    assert ContactErasure.objects.get(contact=maria).erased_by == "ticket DPO-7"
    with pytest.raises(CommandError, match="no contact"):
        call_command("gdpr_export", "nobody@example.com")
