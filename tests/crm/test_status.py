from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm.models import Asset, Contact, Organization, Product, SlaPlan, SupportContract
from crm.record import contact_record


@pytest.fixture
def gold(db):
    return SlaPlan.objects.create(
        name="Gold", first_response_minutes=60, resolution_minutes=480, is_24x7=True, priority=3
    )


@pytest.mark.parametrize(
    ("warranty_end", "on", "expected"),
    [
        (dt.date(2034, 6, 30), dt.date(2026, 12, 1), True),
        (dt.date(2026, 12, 1), dt.date(2026, 12, 1), True),  # the last day still counts
        (dt.date(2026, 11, 30), dt.date(2026, 12, 1), False),
        (None, dt.date(2026, 12, 1), False),
    ],
)
def test_it_tells_whether_an_asset_is_in_warranty(warranty_end, on, expected):
    asset = Asset(serial_number="X", warranty_end=warranty_end)
    assert asset.in_warranty(on) is expected


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (dt.date(2023, 12, 31), False),
        (dt.date(2024, 1, 1), True),
        (dt.date(2026, 12, 31), True),
        (dt.date(2027, 1, 1), False),
    ],
)
def test_it_tells_whether_a_contract_is_active(on, expected):
    contract = SupportContract(starts_on=dt.date(2024, 1, 1), ends_on=dt.date(2026, 12, 31))
    assert contract.is_active(on) is expected


def test_it_counts_days_to_renewal_and_flags_expired_warranty_and_contracts(gold):
    organization = Organization.objects.create(name="Hidro SRL", default_region="RO")
    contact = Contact.objects.create(name="Ion Pop", organization=organization)
    product = Product.objects.create(name="MRU-200", line="Motor protection")
    Asset.objects.create(
        contact=contact,
        organization=organization,
        product=product,
        serial_number="MRU-1",
        warranty_end=dt.date(2022, 3, 15),
    )
    # Not assigned to anyone at the organization, but the caller may ask about it.
    Asset.objects.create(organization=organization, product=product, serial_number="MRU-2")
    SupportContract.objects.create(
        organization=organization,
        plan=gold,
        starts_on=dt.date(2023, 1, 1),
        ends_on=dt.date(2024, 12, 31),
        renewal_date=dt.date(2024, 12, 31),
        price=Decimal("2400.50"),
    )
    record = contact_record(contact, today=dt.date(2026, 12, 1))
    assert [(a["serial_number"], a["in_warranty"]) for a in record["assets"]] == [
        ("MRU-1", False),
        ("MRU-2", False),
    ]
    [contract] = record["contracts"]
    assert contract["active"] is False
    assert contract["days_to_renewal"] == -700
    assert contract["price"] == Decimal("2400.50")
    assert contract["is_24x7"] is True


def test_it_has_no_contracts_or_organization_assets_for_a_contact_without_organization(db):
    contact = Contact.objects.create(name="Walk-in")
    record = contact_record(contact, today=dt.date(2026, 12, 1))
    assert record["organization"] is None
    assert record["contracts"] == []
    assert record["assets"] == []


def test_the_demo_has_an_expired_warranty_and_an_expired_contract(demo):
    today = dt.date(2026, 12, 1)
    assert Asset.objects.get(serial_number="MRU-2019-0042").in_warranty(today) is False
    sibenergo = SupportContract.objects.get(organization__name="Sibenergo AO")
    assert sibenergo.is_active(today) is False
    gold_contract = SupportContract.objects.get(organization__name="Electrica Nord SRL")
    assert gold_contract.plan.name == "Gold 24x7"
    assert gold_contract.renewal_date == dt.date(2027, 6, 30)
