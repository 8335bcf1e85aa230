"""Admin for the CRM record: search by serial number, phone (any format) and e-mail."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from crm.lookup import InvalidEmail, normalize_email, phone_candidates
from crm.models import (
    Asset,
    CallRecord,
    Contact,
    ContactEmail,
    ContactErasure,
    ContactPhone,
    Organization,
    Product,
    ServiceLine,
    SlaPlan,
    SupportContract,
)
from crm.phones import InvalidPhoneNumber, default_region, normalize_phone
from foundation.view_only_admin import ViewOnlyAdminMixin


@cache
def available_time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def phone_numbers_for_search(term: str) -> list[str]:
    """The E.164 readings of a search term that looks like a phone number."""
    term = term.strip()
    if sum(ch.isdigit() for ch in term) < 6:
        return []
    try:
        return sorted({candidate.number for candidate in phone_candidates(term)})
    except InvalidPhoneNumber:
        return []


class ContactPhoneForm(forms.ModelForm):
    """Stores what the admin typed (`0721 234 567`) as E.164, or says why it cannot."""

    class Meta:
        model = ContactPhone
        fields = ["number", "label", "is_primary"]

    def __init__(self, *args: Any, region: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.region = region
        self.fields["number"].help_text = _(
            "Any common format; local numbers are read in the organization's region."
        )

    def clean_number(self) -> str:
        raw = self.cleaned_data.get("number", "")
        try:
            return normalize_phone(raw, self.region or default_region())
        except InvalidPhoneNumber as exc:
            raise forms.ValidationError(
                _("Not a valid phone number: %(number)s"), code="invalid", params={"number": raw}
            ) from exc


class ContactPhoneFormSet(forms.BaseInlineFormSet):
    def get_form_kwargs(self, index: int | None) -> dict[str, Any]:
        kwargs = super().get_form_kwargs(index)
        # The parent contact is built from the submitted form before the
        # inlines, so a new contact's organization counts already.
        organization = getattr(self.instance, "organization", None)
        kwargs["region"] = (organization.default_region if organization else "") or None
        return kwargs


class ContactEmailForm(forms.ModelForm):
    class Meta:
        model = ContactEmail
        fields = ["email", "is_primary"]

    def clean_email(self) -> str:
        # Lower-cased before the uniqueness check, which would otherwise let
        # "Maria@…" past and fail at the database.
        try:
            return normalize_email(self.cleaned_data.get("email", ""))
        except InvalidEmail as exc:
            raise forms.ValidationError(_("Enter a valid e-mail address."), code="invalid") from exc


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
        fields = [
            "name",
            "organization",
            "external_id",
            "locale",
            "time_zone",
            "account_owner",
            "portal_user",
            "is_organization_admin",
        ]

    def clean_time_zone(self) -> str:
        name = (self.cleaned_data.get("time_zone") or "UTC").strip()
        if name not in available_time_zones():
            raise forms.ValidationError(
                _("Unknown time zone %(name)s; use an IANA name such as Europe/Bucharest."),
                code="invalid",
                params={"name": name},
            )
        return name

    def clean_external_id(self) -> str | None:
        # Blank must stay NULL: the column is unique and many contacts have none.
        return (self.cleaned_data.get("external_id") or "").strip() or None


class ContactEmailInline(admin.TabularInline):
    model = ContactEmail
    form = ContactEmailForm
    extra = 1


class ContactPhoneInline(admin.TabularInline):
    model = ContactPhone
    form = ContactPhoneForm
    formset = ContactPhoneFormSet
    extra = 1


class AssetInline(admin.TabularInline):
    model = Asset
    fk_name = "contact"
    extra = 0
    fields = ["product", "serial_number", "purchase_date", "warranty_end", "organization"]
    autocomplete_fields = ["product", "organization"]


class ContractInline(admin.TabularInline):
    model = SupportContract
    extra = 0
    fields = ["plan", "name", "starts_on", "ends_on", "renewal_date", "price", "currency"]


class ContactOfOrganizationInline(admin.TabularInline):
    model = Contact
    extra = 0
    fields = ["name", "external_id", "account_owner", "is_organization_admin"]
    show_change_link = True
    autocomplete_fields = ["account_owner"]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "default_region", "created_at"]
    list_filter = ["category"]
    search_fields = ["name", "contacts__name", "assets__serial_number"]
    readonly_fields = ["public_id", "created_at"]
    inlines = [ContractInline, ContactOfOrganizationInline]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        numbers = phone_numbers_for_search(search_term)
        if numbers:
            results |= queryset.filter(contacts__phones__number__in=numbers)
            may_have_duplicates = True
        return results, may_have_duplicates


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    form = ContactForm
    list_display = ["name", "organization", "external_id", "account_owner", "locale"]
    list_filter = ["locale", "is_organization_admin"]
    list_select_related = ["organization", "account_owner"]
    search_fields = [
        "name",
        "external_id",
        "organization__name",
        "emails__email",
        "assets__serial_number",
    ]
    readonly_fields = ["public_id", "created_at", "updated_at"]
    autocomplete_fields = ["organization", "account_owner", "portal_user"]
    inlines = [ContactEmailInline, ContactPhoneInline, AssetInline]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        numbers = phone_numbers_for_search(search_term)
        if numbers:
            results |= queryset.filter(phones__number__in=numbers)
            may_have_duplicates = True
        return results, may_have_duplicates


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["name", "line", "brand"]
    list_filter = ["line", "brand"]
    search_fields = ["name", "line", "brand"]


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = [
        "serial_number",
        "product",
        "contact",
        "organization",
        "warranty_end",
        "in_warranty_now",
    ]
    list_filter = ["product"]
    list_select_related = ["product", "contact", "organization"]
    search_fields = ["serial_number", "product__name", "contact__name", "organization__name"]
    autocomplete_fields = ["product", "contact", "organization"]
    date_hierarchy = "warranty_end"

    @admin.display(boolean=True, description=_("in warranty"))
    def in_warranty_now(self, asset: Asset) -> bool:
        return asset.in_warranty()


@admin.register(SlaPlan)
class SlaPlanAdmin(admin.ModelAdmin):
    list_display = ["name", "first_response_minutes", "resolution_minutes", "is_24x7", "priority"]
    search_fields = ["name"]


@admin.register(SupportContract)
class SupportContractAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "organization",
        "plan",
        "starts_on",
        "ends_on",
        "renewal_date",
        "price",
        "currency",
        "active_now",
    ]
    list_filter = ["plan", "currency"]
    list_select_related = ["organization", "plan"]
    search_fields = ["name", "organization__name", "plan__name"]
    autocomplete_fields = ["organization", "renews"]
    date_hierarchy = "ends_on"

    @admin.display(boolean=True, description=_("active"))
    def active_now(self, contract: SupportContract) -> bool:
        return contract.is_active()


@admin.register(ServiceLine)
class ServiceLineAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "organization", "product", "amount", "currency", "description"]
    list_filter = ["kind", "currency"]
    list_select_related = ["organization", "product"]
    search_fields = ["description", "organization__name", "asset__serial_number"]
    autocomplete_fields = ["organization", "contact", "contract", "asset", "product"]
    date_hierarchy = "date"


class CallRecordForm(forms.ModelForm):
    class Meta:
        model = CallRecord
        fields = ["contact", "phone", "direction", "started_at", "duration_s", "agent", "note"]

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "").strip()
        # An unknown caller's raw value (withheld, "anonymous") is kept as sent.
        try:
            return normalize_phone(raw)
        except InvalidPhoneNumber:
            return raw


@admin.register(CallRecord)
class CallRecordAdmin(admin.ModelAdmin):
    form = CallRecordForm
    list_display = ["started_at", "direction", "state", "phone", "contact", "agent", "duration_s"]
    list_filter = ["direction", "state"]
    list_select_related = ["contact", "agent"]
    search_fields = ["phone", "contact__name", "note", "agent__username", "external_id"]
    # The PBX writes these; the admin shows them.
    readonly_fields = [
        "public_id",
        "external_id",
        "answered_at",
        "ended_at",
        "rang_user_ids",
        "created_at",
    ]
    autocomplete_fields = ["contact", "agent"]
    date_hierarchy = "started_at"

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        numbers = phone_numbers_for_search(search_term)
        if numbers:
            results |= queryset.filter(phone__in=numbers)
        return results, may_have_duplicates


@admin.register(ContactErasure)
class ContactErasureAdmin(ViewOnlyAdminMixin, admin.ModelAdmin):
    """View only: the proof that an erasure happened is never edited or deleted here.

    Erasing is `chatportal gdpr-erase` or the GDPR API (logic in crm/gdpr.py).
    """

    list_display = ["contact", "erased_at", "erased_by"]
    list_select_related = ["contact"]
    search_fields = ["=contact__public_id", "erased_by"]
    date_hierarchy = "erased_at"
