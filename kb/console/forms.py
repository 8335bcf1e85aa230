"""The console's article form: it validates and says what is wrong; `kb.actions` writes."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from crm.models import Product
from kb.actions import MAX_BODY_CHARS, MAX_NOTE_CHARS, MAX_TITLE_CHARS
from kb.models import Article, Category, Locale
from queues.models import Department


class ArticleForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=MAX_TITLE_CHARS)
    body = forms.CharField(
        label=_("Body (Markdown)"),
        max_length=MAX_BODY_CHARS,
        widget=forms.Textarea(attrs={"rows": 18}),
        help_text=_("Markdown: ## headings, **bold**, lists, [links](https://…), ![images](/…)."),
    )
    locale = forms.ChoiceField(label=_("Language"), choices=Locale.choices)
    audience = forms.ChoiceField(
        label=_("Audience"),
        choices=Article.Audience.choices,
        help_text=_("Internal articles are known solutions only agents see."),
    )
    slug = forms.SlugField(
        label=_("Address (slug)"),
        max_length=180,
        required=False,
        allow_unicode=True,
        help_text=_("Left empty, it follows the title."),
    )
    category = forms.ModelChoiceField(
        label=_("Category"),
        queryset=Category.objects.order_by("locale", "position"),
        required=False,
    )
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments"),
        queryset=Department.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    products = forms.ModelMultipleChoiceField(
        label=_("Products"),
        queryset=Product.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    note = forms.CharField(
        label=_("What changed (for the history)"), max_length=MAX_NOTE_CHARS, required=False
    )

    def __init__(
        self, *args: Any, locale_fixed: str | None = None, text_only: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        if text_only:
            # A translation: its audience and tags come from the original.
            for name in ("audience", "slug", "category", "departments", "products"):
                del self.fields[name]
        if locale_fixed:
            # An existing article (or a translation) keeps its language.
            self.fields["locale"].choices = [
                (code, name) for code, name in Locale.choices if code == locale_fixed
            ]
            self.fields["locale"].initial = locale_fixed

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        category, locale = data.get("category"), data.get("locale")
        if category is not None and locale and category.locale != locale:
            self.add_error("category", _("Choose a category in the article's language."))
        return data


def initial_of(article: Article) -> dict[str, Any]:
    return {
        "title": article.title,
        "body": article.body,
        "locale": article.locale,
        "audience": article.audience,
        "slug": article.slug,
        "category": article.category_id,
        "departments": list(article.departments.all()),
        "products": list(article.products.all()),
    }


class ArticleFilterForm(forms.Form):
    q = forms.CharField(label=_("Title contains"), max_length=200, required=False)
    locale = forms.ChoiceField(
        label=_("Language"), choices=[("", _("All"))] + Locale.choices, required=False
    )
    status = forms.ChoiceField(
        label=_("Status"), choices=[("", _("All")), *Article.Status.choices], required=False
    )
    audience = forms.ChoiceField(
        label=_("Audience"), choices=[("", _("All")), *Article.Audience.choices], required=False
    )
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)
