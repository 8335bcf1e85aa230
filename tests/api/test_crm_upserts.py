from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from crm.models import Asset, Contact, Organization, SupportContract
from queues.tokens import issue_agent_token
from tests.api.conftest import assert_error

CRM = "/api/v1/crm"


@pytest.fixture
def crm_sync(demo) -> Client:
    """The CRM's integration user: an agent with the CRM model permissions."""
    from django.contrib.auth.models import Permission

    user = get_user_model().objects.get(username="boris")
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="crm", codename__regex=r"^(add|change)_")
    )
    token = issue_agent_token(user)
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def maria(demo) -> Contact:
    return Contact.objects.get(external_id="crm-1")


def put(client, path, body):
    return client.put(f"{CRM}{path}", body, content_type="application/json")


ORG = {"name": "Termo Vest SA", "default_region": "ro", "notes": "Boilers"}
CONTACT = {
    "name": "Ion Vasile",
    "organization": "org-9",
    "emails": ["Ion.Vasile@termovest.example", "ion@home.example"],
    "phones": ["0744 111 222", {"number": "+40 21 300 4000", "label": "office"}],
    "locale": "ro",
    "time_zone": "Europe/Bucharest",
    "account_owner": "boris",
}


def test_it_creates_then_updates_then_leaves_an_organization_unchanged(crm_sync):
    created = put(crm_sync, "/organizations/org-9", ORG)
    assert created.status_code == 201, created.content
    assert created.json()["outcome"] == "created"
    organization = Organization.objects.get(external_id="org-9")
    assert (organization.name, organization.default_region) == ("Termo Vest SA", "RO")
    assert created.json()["id"] == str(organization.public_id)

    again = put(crm_sync, "/organizations/org-9", ORG)
    assert (again.status_code, again.json()["outcome"]) == (200, "unchanged")
    renamed = put(crm_sync, "/organizations/org-9", {**ORG, "name": "Termo Vest Group"})
    assert (renamed.status_code, renamed.json()["outcome"]) == (200, "updated")
    assert Organization.objects.get(external_id="org-9").name == "Termo Vest Group"
    assert Organization.objects.filter(name__startswith="Termo").count() == 1


def test_it_adopts_an_organization_typed_in_before_the_crm_was_connected(crm_sync):
    existing = Organization.objects.create(name="Termo Vest SA")
    response = put(crm_sync, "/organizations/org-9", ORG)
    assert (response.status_code, response.json()["outcome"]) == (200, "updated")
    existing.refresh_from_db()
    assert existing.external_id == "org-9"


def test_it_upserts_a_contact_with_phones_and_emails_replacing_the_sets(crm_sync):
    put(crm_sync, "/organizations/org-9", ORG)
    created = put(crm_sync, "/contacts/ion-1", CONTACT)
    assert created.status_code == 201, created.content
    contact = Contact.objects.get(external_id="ion-1")
    assert contact.organization.external_id == "org-9"
    assert contact.account_owner.username == "boris"
    assert [(e.email, e.is_primary) for e in contact.emails.all()] == [
        ("ion.vasile@termovest.example", True),
        ("ion@home.example", False),
    ]
    assert sorted((p.number, p.label, p.is_primary) for p in contact.phones.all()) == [
        ("+40213004000", "office", False),
        ("+40744111222", "", True),
    ]
    assert put(crm_sync, "/contacts/ion-1", CONTACT).json()["outcome"] == "unchanged"

    fewer = put(crm_sync, "/contacts/ion-1", {**CONTACT, "phones": ["+40 21 300 4000"]})
    assert fewer.json()["outcome"] == "updated"
    assert [(p.number, p.is_primary) for p in contact.phones.all()] == [("+40213004000", True)]


def test_fields_left_out_keep_their_values(crm_sync):
    put(crm_sync, "/organizations/org-9", ORG)
    put(crm_sync, "/contacts/ion-1", CONTACT)
    response = put(crm_sync, "/contacts/ion-1", {"name": "Ion Vasile"})
    assert response.json()["outcome"] == "unchanged"
    contact = Contact.objects.get(external_id="ion-1")
    assert contact.emails.count() == 2 and contact.organization is not None


def test_it_upserts_an_asset_by_serial_with_its_product_line_and_owner(crm_sync, maria):
    body = {
        "product": "Boiler TV-24",
        "product_line": "Boilers",
        "purchase_date": "2025-02-01",
        "warranty_end": "2027-02-01",
        "contact": "crm-1",
    }
    created = put(crm_sync, "/assets/TV-24-0001", body)
    assert (created.status_code, created.json()["id"]) == (201, "TV-24-0001"), created.content
    asset = Asset.objects.get(serial_number="TV-24-0001")
    assert (asset.product.name, asset.product.line) == ("Boiler TV-24", "Boilers")
    assert asset.contact == maria and asset.warranty_end == datetime.date(2027, 2, 1)
    assert put(crm_sync, "/assets/TV-24-0001", body).json()["outcome"] == "unchanged"
    moved = put(crm_sync, "/assets/TV-24-0001", {**body, "warranty_end": "2028-02-01"})
    assert moved.json()["outcome"] == "updated"


def test_it_upserts_a_contract_with_plan_dates_renewal_and_price(crm_sync):
    put(crm_sync, "/organizations/org-9", ORG)
    body = {
        "organization": "org-9",
        "plan": "Gold 24x7",
        "name": "Boilers 2026",
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
        "renewal_date": "2026-11-30",
        "price": "4800.50",
        "currency": "RON",
    }
    created = put(crm_sync, "/contracts/k-77", body)
    assert created.status_code == 201, created.content
    contract = SupportContract.objects.get(external_id="k-77")
    assert (contract.plan.name, contract.price, contract.currency) == (
        "Gold 24x7",
        Decimal("4800.50"),
        "RON",
    )
    assert put(crm_sync, "/contracts/k-77", {**body, "price": 4800.5}).json()["outcome"] == (
        "unchanged"
    )


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts/ion-1", {**CONTACT, "organization": "nobody"}, "organization"),
        ("/contacts/ion-1", {**CONTACT, "organization": None, "phones": ["12"]}, "phones"),
        ("/contacts/ion-1", {**CONTACT, "organization": None, "emails": ["nope"]}, "emails"),
        (
            "/contacts/ion-1",
            {**CONTACT, "organization": None, "account_owner": "x"},
            "account_owner",
        ),
        (
            "/contacts/ion-1",
            {**CONTACT, "organization": None, "time_zone": "Mars/Base"},
            "time_zone",
        ),
        (
            "/contracts/k-1",
            {
                "organization": "org-9",
                "plan": "Platinum",
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
            },
            "plan",
        ),
        (
            "/contracts/k-1",
            {
                "organization": "org-9",
                "plan": "Gold 24x7",
                "starts_on": "2026-01-01",
                "ends_on": "2025-12-31",
            },
            "ends_on",
        ),
        ("/assets/S-1", {"product": "X", "contact": "nobody"}, "contact"),
        ("/organizations/org-9", {"name": "Termo", "default_region": "ZZ"}, "default_region"),
    ],
)
def test_a_record_naming_what_does_not_exist_is_refused_with_the_field(crm_sync, path, body, field):
    put(crm_sync, "/organizations/org-9", ORG)
    before = (Contact.objects.count(), SupportContract.objects.count(), Asset.objects.count())
    error = assert_error(put(crm_sync, path, body), 422, "invalid")
    assert error["fields"][0]["loc"][-1] == field
    after = (Contact.objects.count(), SupportContract.objects.count(), Asset.objects.count())
    assert after == before


def test_an_email_of_another_contact_is_refused(crm_sync, maria):
    body = {"name": "Someone", "emails": [maria.emails.first().email]}
    error = assert_error(
        put(crm_sync, "/contacts/other-1", {**body, "emails": ["a@b.example", *body["emails"]]}),
        422,
        "invalid",
    )
    assert error["fields"][0]["loc"][-1] == "emails"
    assert not Contact.objects.filter(external_id="other-1").exists()


def test_malformed_bodies_get_the_shared_error_shape(crm_sync):
    error = assert_error(put(crm_sync, "/contacts/ion-1", {"name": ""}), 422, "invalid")
    assert error["fields"]
    assert_error(put(crm_sync, "/contacts/ion-1", {"name": "A", "colour": "red"}), 422, "invalid")
    assert_error(put(crm_sync, "/contracts/k-1", {"plan": "Gold 24x7"}), 422, "invalid")


def test_an_agent_without_the_crm_permissions_may_not_rewrite_the_record(api):
    assert_error(put(api, "/organizations/org-9", ORG), 403, "forbidden")
    assert not Organization.objects.filter(external_id="org-9").exists()


def test_a_contact_met_before_the_crm_knew_them_is_adopted_by_email(crm_sync):
    from tests.factories import make_contact

    walk_in = make_contact("Ion V.", email="ion@termovest.example")
    response = put(
        crm_sync, "/contacts/ion-1", {"name": "Ion Vasile", "emails": ["ION@termovest.example"]}
    )
    assert (response.status_code, response.json()["outcome"]) == (200, "updated")
    walk_in.refresh_from_db()
    assert (walk_in.external_id, walk_in.name) == ("ion-1", "Ion Vasile")
    assert Contact.objects.filter(emails__email="ion@termovest.example").count() == 1


def test_the_same_phone_written_another_way_is_unchanged(crm_sync):
    put(crm_sync, "/organizations/org-9", ORG)
    put(crm_sync, "/contacts/ion-1", CONTACT)
    rewritten = {
        **CONTACT,
        "phones": ["+40744111222", {"number": "021 300 4000", "label": "office"}],
    }
    assert put(crm_sync, "/contacts/ion-1", rewritten).json()["outcome"] == "unchanged"


def test_an_organization_may_not_take_another_ones_name(crm_sync):
    put(crm_sync, "/organizations/org-9", ORG)
    error = assert_error(put(crm_sync, "/organizations/org-10", ORG), 422, "invalid")
    assert error["fields"][0]["loc"][-1] == "name"
    assert not Organization.objects.filter(external_id="org-10").exists()


BATCH = [
    {"type": "organization", "external_id": "org-9", **ORG},
    {"type": "contact", "external_id": "ion-1", **CONTACT},
    {"type": "asset", "serial_number": "TV-24-0001", "product": "Boiler TV-24", "contact": "ion-1"},
    {"type": "contact", "external_id": "bad-1", "name": "Bad", "organization": "nobody"},
]


def test_a_batch_upserts_in_order_and_reports_each_bad_record(crm_sync):
    response = crm_sync.post(f"{CRM}/batch", {"records": BATCH}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
        "written": True,
        "errors": [
            {
                "index": 4,
                "field": "organization",
                "message": "no organization has the external id 'nobody'",
            }
        ],
    }
    assert Asset.objects.get(serial_number="TV-24-0001").contact.external_id == "ion-1"
    again = crm_sync.post(
        f"{CRM}/batch", {"records": BATCH[:3]}, content_type="application/json"
    ).json()
    assert (again["unchanged"], again["written"]) == (3, True)


def test_a_dry_run_or_all_or_nothing_batch_writes_nothing(crm_sync):
    for options in ({"dry_run": True}, {"all_or_nothing": True}):
        body = {"records": BATCH, **options}
        response = crm_sync.post(f"{CRM}/batch", body, content_type="application/json")
        assert response.json()["written"] is False
    assert not Organization.objects.filter(external_id="org-9").exists()


def test_a_batch_needs_the_crm_permissions(api):
    response = api.post(f"{CRM}/batch", {"records": BATCH}, content_type="application/json")
    assert_error(response, 403, "forbidden")
    assert not Organization.objects.filter(external_id="org-9").exists()


def test_a_batch_has_a_bounded_size(crm_sync):
    too_many = {"records": [BATCH[0]] * 501}
    response = crm_sync.post(f"{CRM}/batch", too_many, content_type="application/json")
    assert_error(response, 422, "invalid")
