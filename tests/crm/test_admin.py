from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from crm.gdpr import erase_contact
from crm.models import Contact, ContactEmail, ContactErasure, ContactPhone, Organization
from queues.tokens import issue_agent_token


@pytest.fixture
def admin_client(client, demo):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def _changelist_names(response) -> list[str]:
    return [str(obj) for obj in response.context["cl"].result_list]


@pytest.mark.parametrize(
    "term",
    [
        "+40 721 234 567",
        "+40721234567",
        "0721 234 567",
        "0721-234-567",
        "0040721234567",
        "customer1@example.com",
        "RZA-2024-0001",
        "crm-1",
    ],
)
def test_it_finds_contacts_by_phone_in_any_format_email_and_serial(admin_client, term):
    response = admin_client.get(reverse("admin:crm_contact_changelist"), {"q": term})
    assert response.status_code == 200
    assert _changelist_names(response) == ["Maria Popescu"]


def test_it_finds_organizations_and_calls_by_phone(admin_client):
    response = admin_client.get(reverse("admin:crm_organization_changelist"), {"q": "0721234567"})
    assert _changelist_names(response) == ["Electrica Nord SRL"]
    response = admin_client.get(reverse("admin:crm_callrecord_changelist"), {"q": "0721 234 567"})
    assert len(response.context["cl"].result_list) == 1


def test_it_finds_assets_by_serial_number(admin_client):
    response = admin_client.get(reverse("admin:crm_asset_changelist"), {"q": "RZA-2024-0001"})
    assert [a.serial_number for a in response.context["cl"].result_list] == ["RZA-2024-0001"]


def _contact_form(organization: Organization, phone: str, email: str) -> dict[str, str]:
    return {
        "name": "Radu Georgescu",
        "organization": str(organization.pk),
        "locale": "ro",
        "time_zone": "Europe/Bucharest",
        "emails-TOTAL_FORMS": "1",
        "emails-INITIAL_FORMS": "0",
        "emails-MIN_NUM_FORMS": "0",
        "emails-MAX_NUM_FORMS": "1000",
        "emails-0-email": email,
        "phones-TOTAL_FORMS": "1",
        "phones-INITIAL_FORMS": "0",
        "phones-MIN_NUM_FORMS": "0",
        "phones-MAX_NUM_FORMS": "1000",
        "phones-0-number": phone,
        "phones-0-label": "mobile",
        "assets-TOTAL_FORMS": "0",
        "assets-INITIAL_FORMS": "0",
        "assets-MIN_NUM_FORMS": "0",
        "assets-MAX_NUM_FORMS": "1000",
    }


def test_it_stores_phones_typed_in_the_admin_as_e164_in_the_organization_region(admin_client):
    russian = Organization.objects.get(name="Sibenergo AO")
    response = admin_client.post(
        reverse("admin:crm_contact_add"),
        _contact_form(russian, "8 (383) 210-99-88", "Radu.Georgescu@Example.com"),
    )
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    contact = Contact.objects.get(name="Radu Georgescu")
    assert list(contact.phones.values_list("number", flat=True)) == ["+73832109988"]
    assert list(contact.emails.values_list("email", flat=True)) == ["radu.georgescu@example.com"]


def test_it_refuses_an_invalid_phone_in_the_admin_with_a_message(admin_client):
    organization = Organization.objects.get(name="Electrica Nord SRL")
    response = admin_client.post(
        reverse("admin:crm_contact_add"), _contact_form(organization, "12345", "radu@example.com")
    )
    assert response.status_code == 200
    assert "Not a valid phone number: 12345" in response.content.decode()
    assert not Contact.objects.filter(name="Radu Georgescu").exists()
    assert not ContactPhone.objects.filter(number="12345").exists()


def test_it_refuses_an_email_that_differs_only_in_case_from_an_existing_one(admin_client):
    organization = Organization.objects.get(name="Electrica Nord SRL")
    response = admin_client.post(
        reverse("admin:crm_contact_add"),
        _contact_form(organization, "0744 000 111", "CUSTOMER1@example.com"),
    )
    assert response.status_code == 200
    assert ContactEmail.objects.filter(email="customer1@example.com").count() == 1


def test_it_never_shows_a_token_secret_in_the_admin(admin_client):
    boris = get_user_model().objects.get(username="boris")
    token = issue_agent_token(boris)
    secret = token.split(".", 1)[1]
    response = admin_client.get(reverse("admin:queues_agentapitoken_changelist"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "boris" in body
    assert secret not in body
    assert token.split(".")[0] not in body  # only a prefix of the public id
    assert admin_client.get(reverse("admin:queues_agentapitoken_add")).status_code == 403


@pytest.mark.parametrize(
    "name",
    [
        "crm_organization",
        "crm_contact",
        "crm_product",
        "crm_asset",
        "crm_slaplan",
        "crm_supportcontract",
        "crm_callrecord",
        "queues_department",
        "queues_agentprofile",
        "queues_agentapitoken",
        "queues_agentpresence",
        "queues_productroute",
    ],
)
def test_it_renders_every_admin_list_and_the_demo_change_pages(admin_client, name):
    response = admin_client.get(reverse(f"admin:{name}_changelist"))
    assert response.status_code == 200
    model = response.context["cl"].model
    first = model.objects.first()
    if first is not None:
        assert admin_client.get(reverse(f"admin:{name}_change", args=[first.pk])).status_code == 200


def test_it_shows_department_hours_in_the_list(admin_client):
    response = admin_client.get(reverse("admin:queues_department_changelist"))
    body = response.content.decode()
    assert "Mon-Fri 09:00-18:00 Europe/Bucharest" in body
    assert "24x7" in body


def test_it_refuses_an_unknown_time_zone_for_a_department(admin_client):
    response = admin_client.post(
        reverse("admin:queues_department_add"),
        {
            "name": "Night",
            "slug": "night",
            "time_zone": "Mars/Base",
            "routing_mode": "auto",
            "offer_timeout_s": "45",
            "long_wait_s": "300",
            "hours-TOTAL_FORMS": "0",
            "hours-INITIAL_FORMS": "0",
            "holidays-TOTAL_FORMS": "0",
            "holidays-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert "Unknown time zone Mars/Base" in response.content.decode()


def test_it_refuses_an_unknown_contact_time_zone_and_keeps_blank_external_ids_null(
    admin_client,
):
    organization = Organization.objects.get(name="Electrica Nord SRL")
    form = _contact_form(organization, "0744 000 111", "radu@example.com")
    form["time_zone"] = "Europe/Atlantis"
    response = admin_client.post(reverse("admin:crm_contact_add"), form)
    assert response.status_code == 200
    assert "Unknown time zone Europe/Atlantis" in response.content.decode()

    for n, phone in enumerate(["0744 000 111", "0744 000 222"]):
        form = _contact_form(organization, phone, f"radu{n}@example.com")
        form["name"] = f"Radu {n}"
        form["external_id"] = "  "
        assert admin_client.post(reverse("admin:crm_contact_add"), form).status_code == 302
    assert list(
        Contact.objects.filter(name__startswith="Radu ").values_list("external_id", flat=True)
    ) == [None, None]


def test_erasure_records_are_shown_but_never_edited_or_deleted(admin_client, maria):
    erasure, _created = erase_contact(maria, by="dpo@example.com")
    changelist = admin_client.get(reverse("admin:crm_contacterasure_changelist"))
    assert changelist.status_code == 200
    assert [e.erased_by for e in changelist.context["cl"].result_list] == ["dpo@example.com"]
    change = reverse("admin:crm_contacterasure_change", args=[erasure.pk])
    assert admin_client.get(change).status_code == 200
    assert admin_client.post(change, {"erased_by": "someone"}).status_code == 403
    delete = reverse("admin:crm_contacterasure_delete", args=[erasure.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ContactErasure.objects.get().erased_by == "dpo@example.com"
