"""What a browser would post back from an admin change page, read from the page's forms."""

from __future__ import annotations

from typing import Any

from django import forms


def _bound_field_data(bound: forms.BoundField) -> dict[str, Any]:
    widget = bound.field.widget
    widget = getattr(widget, "widget", widget)  # the admin's related-field wrapper
    value = bound.value()
    if isinstance(widget, forms.MultiWidget):
        parts = value if isinstance(value, list | tuple) else widget.decompress(value)
        return {
            f"{bound.html_name}{suffix}": inner.format_value(part) or ""
            for suffix, inner, part in zip(widget.widgets_names, widget.widgets, parts, strict=True)
        }
    if isinstance(widget, forms.CheckboxInput):
        return {bound.html_name: "on"} if value else {}
    if value is None:
        return {bound.html_name: ""}
    if isinstance(value, list | tuple):
        return {bound.html_name: [str(item) for item in value]}
    return {bound.html_name: str(value)}


def _form_data(form: forms.BaseForm) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for bound in form:
        data.update(_bound_field_data(bound))
    return data


def change_form_data(response) -> dict[str, Any]:
    """The change page's form and inline formsets, unchanged, as POST data."""
    data = _form_data(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(_form_data(formset.management_form))
        for form in formset.forms:
            data.update(_form_data(form))
    return data
