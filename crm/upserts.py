"""The company's CRM stays the source: its records, upserted by its own ids.

One action per record type, shared by the API (`PUT /api/v1/crm/...`) and
`chatportal import-crm`. Each takes the record's external id (an asset's is
its serial number) and a validated `*In` schema from `crm/schemas.py`, runs
in one transaction, and answers whether it created, updated or left the
record unchanged, so that sending the same record twice changes nothing.

Fields the CRM leaves out keep their stored values; a field it sends, null
included, is set. A contact's `phones` and `emails`, when sent, replace the
whole set (the first is the primary). A reference the database cannot
resolve (an unknown organization, SLA plan or agent; an e-mail another
contact has) raises `InvalidRecord` naming the field; nothing is written.

These actions change no conversation or ticket and publish nothing: the
record is read afresh by every page and lookup. They live beside
`crm/actions.py` (the call log) because they form one subject of their own.
"""

from __future__ import annotations

import enum
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Model

from crm.models import (
    Asset,
    Contact,
    ContactEmail,
    ContactPhone,
    Organization,
    Product,
    SlaPlan,
    SupportContract,
)
from crm.phones import InvalidPhoneNumber, check_region, normalize_phone
from crm.schemas import AssetIn, ContactIn, ContractIn, OrganizationIn, PhoneIn


class Outcome(enum.StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


class InvalidRecord(ValueError):
    """The record names something that does not exist or is someone else's."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Upserted:
    outcome: Outcome
    id: str
    external_id: str


def _assign(obj: Model, values: dict[str, Any]) -> bool:
    """Set `values` on `obj`; True if any differed."""
    changed = False
    for name, value in values.items():
        if isinstance(value, Model) or (value is None and _is_relation(obj, name)):
            # Compare keys: reading an unset relation would raise or query.
            differs = getattr(obj, f"{name}_id") != (value.pk if value is not None else None)
        else:
            differs = getattr(obj, name) != value
        if differs:
            setattr(obj, name, value)
            changed = True
    return changed


def _is_relation(obj: Model, name: str) -> bool:
    return obj._meta.get_field(name).is_relation


def _outcome(created: bool, changed: bool) -> Outcome:
    if created:
        return Outcome.CREATED
    return Outcome.UPDATED if changed else Outcome.UNCHANGED


def _organization(external_id: str | None, field: str = "organization") -> Organization | None:
    if external_id is None:
        return None
    organization = Organization.objects.filter(external_id=external_id).first()
    if organization is None:
        raise InvalidRecord(field, f"no organization has the external id {external_id!r}")
    return organization


def _contact(external_id: str | None, field: str = "contact") -> Contact | None:
    if external_id is None:
        return None
    contact = Contact.objects.filter(external_id=external_id).first()
    if contact is None:
        raise InvalidRecord(field, f"no contact has the external id {external_id!r}")
    return contact


# --- organizations ---------------------------------------------------------------------


def upsert_organization(external_id: str, record: OrganizationIn) -> Upserted:
    """Create or update the organization the CRM knows as `external_id`.

    An organization typed in by hand before the CRM was connected (same
    name, no external id yet) is adopted rather than duplicated.
    """
    values = record.model_dump(exclude_unset=True)
    if values.get("default_region") is not None:
        try:
            values["default_region"] = check_region(values["default_region"])
        except InvalidPhoneNumber as exc:
            raise InvalidRecord("default_region", str(exc)) from exc
    for name in ("default_region", "notes"):
        if name in values and values[name] is None:
            values[name] = ""
    with transaction.atomic():
        organization = (
            Organization.objects.select_for_update().filter(external_id=external_id).first()
        )
        created = organization is None
        if organization is None:
            organization = (
                Organization.objects.select_for_update()
                .filter(name=record.name, external_id__isnull=True)
                .first()
            )
            if organization is None:
                organization = Organization()
            else:
                created = False
        clash = Organization.objects.filter(name=record.name).exclude(pk=organization.pk)
        if clash.exists():
            raise InvalidRecord("name", "another organization has this name")
        changed = _assign(organization, {**values, "external_id": external_id})
        if created or changed:
            organization.save()
    return Upserted(_outcome(created, changed), str(organization.public_id), external_id)


# --- contacts --------------------------------------------------------------------------


def _clean_emails(raw: list[str]) -> list[str]:
    emails: list[str] = []
    for address in raw:
        email = address.strip().lower()
        try:
            validate_email(email)
        except ValidationError as exc:
            raise InvalidRecord("emails", f"not an e-mail address: {address!r}") from exc
        if email not in emails:
            emails.append(email)
    return emails


def _clean_phones(raw: list[str | PhoneIn], region: str | None) -> list[tuple[str, str]]:
    phones: list[tuple[str, str]] = []
    for item in raw:
        number, label = (item, "") if isinstance(item, str) else (item.number, item.label)
        try:
            e164 = normalize_phone(number, region)
        except InvalidPhoneNumber as exc:
            raise InvalidRecord("phones", str(exc)) from exc
        if e164 not in (known for known, _label in phones):
            phones.append((e164, label))
    return phones


def _agent(username: str | None) -> Any:
    if username is None:
        return None
    user_model = get_user_model()
    user = user_model.objects.filter(
        **{user_model.USERNAME_FIELD: username}, is_active=True
    ).first()
    if user is None:
        raise InvalidRecord("account_owner", f"no active user is called {username!r}")
    return user


def _find_contact(external_id: str, emails: list[str] | None) -> Contact | None:
    contact = Contact.objects.select_for_update().filter(external_id=external_id).first()
    if contact is not None or not emails:
        return contact
    # A person typed in by hand (or met in a chat) before the CRM knew them:
    # adopt them by e-mail instead of making a second record.
    owner = (
        ContactEmail.objects.filter(email__in=emails, contact__external_id__isnull=True)
        .select_related("contact")
        .order_by("contact__pk")
        .first()
    )
    return owner.contact if owner is not None else None


def _replace_emails(contact: Contact, emails: list[str]) -> bool:
    taken = (
        ContactEmail.objects.filter(email__in=emails)
        .exclude(contact=contact)
        .values_list("email", flat=True)
        .first()
    )
    if taken is not None:
        raise InvalidRecord("emails", f"{taken} belongs to another contact")
    wanted = {email: index == 0 for index, email in enumerate(emails)}
    changed = False
    for row in list(contact.emails.all()):
        if row.email not in wanted:
            row.delete()
            changed = True
        elif row.is_primary != wanted.pop(row.email):
            row.is_primary = not row.is_primary
            row.save(update_fields=["is_primary"])
            changed = True
    for email, primary in wanted.items():
        ContactEmail.objects.create(contact=contact, email=email, is_primary=primary)
        changed = True
    return changed


def _replace_phones(contact: Contact, phones: list[tuple[str, str]]) -> bool:
    wanted = {number: (label, index == 0) for index, (number, label) in enumerate(phones)}
    changed = False
    for row in list(contact.phones.all()):
        if row.number not in wanted:
            row.delete()
            changed = True
            continue
        label, primary = wanted.pop(row.number)
        if (row.label, row.is_primary) != (label, primary):
            row.label, row.is_primary = label, primary
            row.save(update_fields=["label", "is_primary"])
            changed = True
    for number, (label, primary) in wanted.items():
        ContactPhone.objects.create(contact=contact, number=number, label=label, is_primary=primary)
        changed = True
    return changed


def upsert_contact(external_id: str, record: ContactIn) -> Upserted:
    """Create or update the contact the CRM knows as `external_id`, with phones and e-mails."""
    sent = record.model_fields_set
    values: dict[str, Any] = {"name": record.name}
    if "locale" in sent:
        values["locale"] = record.locale or ""
    if "time_zone" in sent:
        if record.time_zone:
            try:
                zoneinfo.ZoneInfo(record.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
                raise InvalidRecord("time_zone", "not a known time zone") from exc
        values["time_zone"] = record.time_zone or ""
    emails = _clean_emails(record.emails) if record.emails is not None else None
    with transaction.atomic():
        if "organization" in sent:
            values["organization"] = _organization(record.organization)
        if "account_owner" in sent:
            values["account_owner"] = _agent(record.account_owner)
        contact = _find_contact(external_id, emails)
        created = contact is None
        if contact is None:
            contact = Contact(external_id=external_id)
        changed = _assign(contact, {**values, "external_id": external_id})
        if changed or created:
            contact.save()
        if emails is not None:
            changed = _replace_emails(contact, emails) or changed
        if record.phones is not None:
            organization = contact.organization
            region = organization.default_region if organization is not None else None
            phones = _clean_phones(record.phones, region or None)
            changed = _replace_phones(contact, phones) or changed
    return Upserted(_outcome(created, changed), str(contact.public_id), external_id)


# --- assets ----------------------------------------------------------------------------


def _product(record: AssetIn) -> Product:
    product, _created = Product.objects.get_or_create(name=record.product)
    # The CRM is the source of the product's line and brand as well.
    updates = {
        name: value
        for name, value in (("line", record.product_line), ("brand", record.brand))
        if value is not None and getattr(product, name) != value
    }
    if updates:
        _assign(product, updates)
        product.save(update_fields=list(updates))
    return product


def upsert_asset(serial_number: str, record: AssetIn) -> Upserted:
    """Create or update the unit with this serial number, its product and its owner."""
    sent = record.model_fields_set
    dates = {name: getattr(record, name) for name in ("purchase_date", "warranty_end")}
    if (
        dates["purchase_date"] is not None
        and dates["warranty_end"] is not None
        and dates["warranty_end"] < dates["purchase_date"]
    ):
        raise InvalidRecord("warranty_end", "the warranty ends before the purchase date")
    with transaction.atomic():
        values: dict[str, Any] = {name: value for name, value in dates.items() if name in sent}
        if "contact" in sent:
            values["contact"] = _contact(record.contact)
        if "organization" in sent:
            values["organization"] = _organization(record.organization)
        values["product"] = _product(record)
        asset = Asset.objects.select_for_update().filter(serial_number=serial_number).first()
        created = asset is None
        if asset is None:
            asset = Asset(serial_number=serial_number)
        changed = _assign(asset, values)
        if created or changed:
            asset.save()
    return Upserted(_outcome(created, changed), asset.serial_number, serial_number)


# --- contracts -------------------------------------------------------------------------


def upsert_contract(external_id: str, record: ContractIn) -> Upserted:
    """Create or update the support contract the CRM knows as `external_id`."""
    if record.ends_on < record.starts_on:
        raise InvalidRecord("ends_on", "the contract ends before it starts")
    values: dict[str, Any] = record.model_dump(exclude_unset=True, exclude={"organization", "plan"})
    for name, empty in (("name", ""), ("price", 0), ("currency", "EUR")):
        if name in values and values[name] is None:
            values[name] = empty
    with transaction.atomic():
        values["organization"] = _organization(record.organization)
        plan = SlaPlan.objects.filter(name=record.plan).first()
        if plan is None:
            raise InvalidRecord("plan", f"no SLA plan is called {record.plan!r}")
        values["plan"] = plan
        contract = (
            SupportContract.objects.select_for_update().filter(external_id=external_id).first()
        )
        created = contract is None
        if contract is None:
            contract = SupportContract(external_id=external_id)
        changed = _assign(contract, values)
        if created or changed:
            contract.save()
    # Contracts have no public id of their own: the CRM's id is the one to show.
    return Upserted(_outcome(created, changed), external_id, external_id)
