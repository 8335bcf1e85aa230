"""The CRM record: who the customer is and what they own and pay for."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Organization(models.Model):
    # The id the API and pages show: integer keys stay internal (no enumeration).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200, unique=True)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The id of this organization in the company's CRM."),
    )
    # ISO 3166 region used to read local phone numbers ("0721 234 567").
    default_region = models.CharField(_("phone region"), max_length=2, blank=True)
    # The customer category the KPIs group by ("key account", "reseller", …): free text.
    category = models.CharField(_("customer category"), max_length=50, blank=True, db_index=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Contact(models.Model):
    # The id the API and pages show: integer keys stay internal (no enumeration).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    name = models.CharField(_("name"), max_length=200)
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The id of this person in the host site or the company's CRM."),
    )
    # Blank: not known yet. Pages then follow the reader's browser, e-mails the site's
    # LANGUAGE_CODE; a set locale is the contact's own choice and wins over both.
    locale = models.CharField(_("locale"), max_length=10, blank=True, default="")
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True, default="UTC")
    account_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_contacts",
    )
    # The customer's portal login, when they have one.
    portal_user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact",
    )
    is_organization_admin = models.BooleanField(
        _("Organization admin in the portal"),
        default=False,
        help_text=_(
            "Sees the tickets of every colleague in the organization, and all its units, "
            "in the portal."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else ""


class ContactEmail(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="emails")
    email = models.EmailField(_("e-mail"), unique=True)  # stored lower-cased
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "email"]

    def __str__(self) -> str:
        return self.email

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        super().save(*args, **kwargs)


class ContactPhone(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(_("number (E.164)"), max_length=20, db_index=True)
    label = models.CharField(_("label"), max_length=40, blank=True)
    is_primary = models.BooleanField(default=False)

    class Meta:
        ordering = ["-is_primary", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "number"], name="crm_phone_unique_per_contact"
            )
        ]

    def __str__(self) -> str:
        return self.number

    def save(self, *args, **kwargs):
        # Lookups compare E.164 strings; a number written any other way would
        # never match. Forms refuse invalid numbers; here we only normalize.
        from crm.phones import try_normalize_phone

        region = None
        if self.contact_id is not None and self.contact.organization_id is not None:
            region = self.contact.organization.default_region or None
        self.number = try_normalize_phone(self.number, region) or self.number.strip()
        super().save(*args, **kwargs)


class Product(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    line = models.CharField(_("product line"), max_length=100, blank=True)
    brand = models.CharField(_("brand"), max_length=100, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Asset(models.Model):
    """One unit a customer owns: the serial number nobody should ask for again."""

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="assets")
    serial_number = models.CharField(_("serial number"), max_length=100, unique=True)
    purchase_date = models.DateField(_("purchase date"), null=True, blank=True)
    warranty_end = models.DateField(_("warranty end"), null=True, blank=True)

    class Meta:
        ordering = ["serial_number"]

    def __str__(self) -> str:
        return f"{self.product} {self.serial_number}"

    def in_warranty(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.warranty_end is not None and on <= self.warranty_end


class SlaPlan(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    first_response_minutes = models.PositiveIntegerField(_("first response target (minutes)"))
    resolution_minutes = models.PositiveIntegerField(_("resolution target (minutes)"))
    # True: clocks run around the clock; False: only in the department's business hours.
    is_24x7 = models.BooleanField(_("24x7"), default=False)
    # Higher tiers are served first in the queue.
    priority = models.PositiveSmallIntegerField(_("queue priority"), default=0)

    class Meta:
        ordering = ["-priority", "name"]

    def __str__(self) -> str:
        return self.name


class SupportContract(models.Model):
    external_id = models.CharField(
        _("external id"),
        max_length=100,
        unique=True,
        null=True,
        blank=True,
        help_text=_("The id of this contract in the company's CRM."),
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contracts"
    )
    plan = models.ForeignKey(SlaPlan, on_delete=models.PROTECT, related_name="contracts")
    name = models.CharField(_("name"), max_length=200, blank=True)
    starts_on = models.DateField(_("start"))
    ends_on = models.DateField(_("end"))
    renewal_date = models.DateField(_("renewal date"), null=True, blank=True)
    price = models.DecimalField(_("price"), max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    # The contract this one continues: the renewal rate counts contracts that have one.
    renews = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="renewals",
        verbose_name=_("renews"),
    )

    class Meta:
        ordering = ["-ends_on"]
        indexes = [models.Index(fields=["ends_on"], name="crm_contract_ends_idx")]

    def __str__(self) -> str:
        return self.name or f"{self.plan} — {self.organization}"

    def is_active(self, on: datetime.date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.starts_on <= on <= self.ends_on


class ServiceLine(models.Model):
    """One line of support revenue: a contract's price or a billed after-sales service."""

    class Kind(models.TextChoices):
        CONTRACT = "contract", _("support contract")
        PARTS = "parts", _("parts")
        REPAIR = "repair", _("repair")
        MAINTENANCE = "maintenance", _("maintenance")
        TRAINING = "training", _("training")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    date = models.DateField(_("date"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="service_lines",
        verbose_name=_("organization"),
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_lines",
        verbose_name=_("contact"),
    )
    contract = models.ForeignKey(
        SupportContract,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_lines",
        verbose_name=_("contract"),
    )
    asset = models.ForeignKey(
        Asset,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_lines",
        verbose_name=_("unit"),
    )
    product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="service_lines",
        verbose_name=_("product"),
        help_text=_("Empty: the unit's product, if a unit is named."),
    )
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date"]
        verbose_name = _("service line")
        verbose_name_plural = _("service lines")
        indexes = [models.Index(fields=["date"], name="crm_service_line_date_idx")]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.amount} {self.currency}"

    def save(self, *args, **kwargs):
        if self.product_id is None and self.asset_id is not None:
            self.product_id = self.asset.product_id
        if self.organization_id is None:
            if self.contract_id is not None:
                self.organization_id = self.contract.organization_id
            elif self.contact_id is not None:
                self.organization_id = self.contact.organization_id
        self.currency = self.currency.upper()
        super().save(*args, **kwargs)


class CallRecord(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", _("inbound")
        OUTBOUND = "outbound", _("outbound")

    class State(models.TextChoices):
        # In order: a call only ever moves forward (see `CallRecord.ORDER`).
        RINGING = "ringing", _("ringing")
        ANSWERED = "answered", _("answered")
        ENDED = "ended", _("ended")

    ORDER = (State.RINGING, State.ANSWERED, State.ENDED)

    # The id the API and pages show: integer keys stay internal (no enumeration).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="calls"
    )
    # E.164 when it parsed, otherwise what the telephony system sent (unknown caller).
    phone = models.CharField(_("phone"), max_length=40, db_index=True)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    started_at = models.DateTimeField(default=timezone.now)
    duration_s = models.PositiveIntegerField(null=True, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    note = models.TextField(blank=True)
    # The PBX's own id for the call (Asterisk's UNIQUEID, ...): a retried or later
    # post with the same id updates this row instead of logging the call twice.
    external_id = models.CharField(
        _("external call id"), max_length=100, unique=True, null=True, blank=True
    )
    state = models.CharField(
        _("state"), max_length=8, choices=State.choices, default=State.ENDED, db_index=True
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    # A department slug, not a key: departments live in `queues`, above crm.
    department = models.CharField(_("department"), max_length=50, blank=True)
    # Whose consoles were rung, so that `answered` and `ended` reach the same ones.
    rang_user_ids = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.direction} {self.phone} {self.started_at:%Y-%m-%d %H:%M}"


class ContactErasure(models.Model):
    """The record kept when a contact's personal data was erased (GDPR art. 17), see crm/gdpr.py.

    The contact row stays, anonymized, so its chats and tickets still count
    in the KPIs; this says when, by whom, and how much was erased.
    """

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="erasure")
    erased_at = models.DateTimeField(default=timezone.now)
    erased_by = models.CharField(_("erased by"), max_length=150)
    summary = models.JSONField(default=dict)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self) -> str:
        return f"erasure of contact {self.contact_id} at {self.erased_at:%Y-%m-%d %H:%M}"
