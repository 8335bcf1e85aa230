"""The portal's forms: sign-in, a sign-in link, a reply, a new ticket."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from queues.models import Department
from tickets.customers import customer_contact, username_for_login

MAX_BODY = 20_000
MAX_SUBJECT = 300


class PortalAuthenticationForm(AuthenticationForm):
    """Django's login form, for customers only, with their e-mail as the username."""

    username = forms.CharField(
        label=_("E-mail"),
        max_length=254,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )

    def clean(self) -> dict[str, Any]:
        raw = self.cleaned_data.get("username")
        if raw:
            self.cleaned_data["username"] = username_for_login(raw.strip())
        cleaned = super().clean()
        # An agent's valid password gets the same answer as a wrong one: the
        # portal is no back door into the console, nor an oracle for accounts.
        if self.user_cache is not None and customer_contact(self.user_cache) is None:
            self.user_cache = None
            raise self.get_invalid_login_error()
        return cleaned


class LinkRequestForm(forms.Form):
    email = forms.EmailField(label=_("E-mail"), max_length=254)


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        max_length=MAX_BODY,
        strip=True,
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, *args: Any, files_attached: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.files_attached = files_attached

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body", "")
        if not body and not self.files_attached:
            raise ValidationError(_("Write a reply or attach a file."))
        return body


class NewTicketForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=MAX_SUBJECT, strip=True)
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        empty_label=None,
        to_field_name="slug",
    )
    body = forms.CharField(
        label=_("How can we help?"),
        max_length=MAX_BODY,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 8}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.order_by("name")
        # Articles that may answer it appear while the subject is typed (htmx active search).
        self.fields["subject"].widget.attrs.update(
            {
                "hx-get": reverse("kb_portal_suggestions"),
                "hx-trigger": "input changed delay:400ms, search",
                "hx-target": "#kb-suggestions",
                "autocomplete": "off",
            }
        )

    def clean_subject(self) -> str:
        subject = " ".join(self.cleaned_data["subject"].split())
        if not subject:
            raise ValidationError(_("Please write a subject."))
        return subject
