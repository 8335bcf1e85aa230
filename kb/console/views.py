"""The console's knowledge-base screens: the list, writing and editing an article.

Thin views: `tickets.console.access.agent_required` lets agents in, `kb.access`
says who may edit and publish, the form validates and `kb.actions` writes
(each save a revision). Pages work without JavaScript; "Preview" re-renders the
form with the sanitized article beside it and saves nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from kb.access import access_article, check_may_edit, check_may_publish, is_publisher, may_edit
from kb.actions import (
    TicketDraft,
    add_translation,
    create_article,
    draft_from_ticket,
    revert_article,
    set_article_status,
    translations_of,
    update_article,
)
from kb.console.forms import ArticleFilterForm, ArticleForm, initial_of
from kb.errors import KbError
from kb.models import Article, Locale
from kb.rendering import render_markdown
from tickets.access import access_ticket_for_agent
from tickets.console.access import agent_required
from tickets.errors import TicketNotFound
from tickets.models import Ticket

PAGE_SIZE = 50


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "kb/console/not_found.html", {"console_section": "kb"}, status=404)


def _load(request: HttpRequest, public_id: str) -> Article | None:
    try:
        return access_article(public_id, scope=request.agent_scope)  # type: ignore[attr-defined]
    except KbError:
        return None


def _source_ticket(request: HttpRequest, number: str) -> Ticket | None:
    if not number:
        return None
    try:
        return access_ticket_for_agent(request.user, number, scope=request.agent_scope)  # type: ignore[attr-defined]
    except TicketNotFound:
        return None


@never_cache
@agent_required
def article_list(request: HttpRequest) -> HttpResponse:
    form = ArticleFilterForm(request.GET)
    articles = Article.objects.select_related("updated_by").order_by("-updated_at", "-pk")
    status = 200
    page_number = 1
    if form.is_valid():
        data = form.cleaned_data
        if data["q"].strip():
            articles = articles.filter(title__icontains=data["q"].strip())
        for name in ("locale", "status", "audience"):
            if data[name]:
                articles = articles.filter(**{name: data[name]})
        page_number = data["page"] or 1
    else:
        articles, status = Article.objects.none(), 400
    page = Paginator(articles, PAGE_SIZE).get_page(page_number)
    kept = request.GET.copy()
    kept.pop("page", None)
    context = {
        "console_section": "kb",
        "filter_form": form,
        "page": page,
        "filters_query": kept.urlencode(),
    }
    return render(request, "kb/console/article_list.html", context, status=status)


def _form_page(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    context.setdefault("console_section", "kb")
    form = context["form"]
    if request.method == "POST" and request.POST.get("action") == "preview" and form.is_valid():
        context["preview"] = render_markdown(form.cleaned_data["body"])
    return render(request, "kb/console/article_form.html", context, status=status)


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
@agent_required
def article_new(request: HttpRequest) -> HttpResponse:
    """A new article; `?ticket=T-1042` starts from a solved ticket, `?translation_of=<id>&locale=ro` translates."""
    params = request.POST if request.method == "POST" else request.GET
    ticket = _source_ticket(request, params.get("ticket", "")[:20])
    original = (
        _load(request, params.get("translation_of", "")[:36])
        if params.get("translation_of")
        else None
    )
    if params.get("translation_of") and original is None:
        return _not_found(request)
    locale_fixed = None
    if original is not None:
        locale_fixed = params.get("locale", "")
        taken = {a.locale for a in translations_of(original)}
        if locale_fixed not in Locale.values or locale_fixed in taken:
            messages.error(request, _("Choose a language this article is not yet written in."))
            return redirect("console_kb_article", public_id=original.public_id)
    context: dict[str, Any] = {"ticket": ticket, "original": original, "is_new": True}
    if request.method == "GET":
        initial: dict[str, Any] = {
            "locale": locale_fixed or Locale.EN,
            "audience": Article.Audience.PUBLIC,
        }
        if ticket is not None:
            try:
                draft: TicketDraft = draft_from_ticket(ticket)
            except KbError as exc:
                messages.error(request, exc.detail)
                return redirect("console_ticket", number=ticket.number)
            initial.update(
                {
                    "title": draft.title,
                    "body": draft.body,
                    "locale": draft.locale,
                    "departments": [ticket.department],
                }
            )
            if ticket.asset_id:
                initial["products"] = [ticket.asset.product]
        if original is not None:
            initial.update(
                {"title": original.title, "body": original.body, "audience": original.audience}
            )
        context["form"] = ArticleForm(
            initial=initial, locale_fixed=locale_fixed, text_only=original is not None
        )
        return _form_page(request, context)
    form = ArticleForm(request.POST, locale_fixed=locale_fixed, text_only=original is not None)
    context["form"] = form
    if request.POST.get("action") == "preview" or not form.is_valid():
        return _form_page(request, context, status=200 if form.is_valid() else 400)
    data = form.cleaned_data
    try:
        if original is not None:
            article = add_translation(
                original,
                locale=data["locale"],
                title=data["title"],
                body=data["body"],
                by=request.user,
            )
        else:
            article = create_article(
                title=data["title"],
                body=data["body"],
                by=request.user,
                locale=data["locale"],
                audience=data["audience"],
                slug=data["slug"],
                category=data["category"],
                departments=data["departments"],
                products=data["products"],
                source_tickets=[ticket] if ticket is not None else [],
                note=data["note"],
            )
    except KbError as exc:
        context["error"] = exc.detail
        return _form_page(request, context, status=exc.status)
    messages.success(request, _("Draft saved."))
    return redirect("console_kb_article", public_id=article.public_id)


def _edit_context(request: HttpRequest, article: Article, form: ArticleForm) -> dict[str, Any]:
    scope = request.agent_scope  # type: ignore[attr-defined]
    translations = translations_of(article)
    written = {a.locale for a in translations}
    return {
        "article": article,
        "form": form,
        "may_edit": may_edit(article, request.user, scope),
        "may_publish": is_publisher(request.user, scope),
        "translations": [a for a in translations if a.pk != article.pk],
        "missing_locales": [(code, name) for code, name in Locale.choices if code not in written],
        "revisions": article.revisions.select_related("author").order_by("-number")[:50],
        "source_tickets": article.source_tickets.order_by("-pk"),
    }


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
@agent_required
def article_edit(request: HttpRequest, public_id: str) -> HttpResponse:
    article = _load(request, public_id)
    if article is None:
        return _not_found(request)
    if request.method == "GET":
        form = ArticleForm(initial=initial_of(article), locale_fixed=article.locale)
        return _form_page(request, _edit_context(request, article, form))
    form = ArticleForm(request.POST, locale_fixed=article.locale)
    context = _edit_context(request, article, form)
    if request.POST.get("action") == "preview" or not form.is_valid():
        return _form_page(request, context, status=200 if form.is_valid() else 400)
    data = form.cleaned_data
    try:
        check_may_edit(article, request.user, request.agent_scope)  # type: ignore[attr-defined]
        update_article(
            article,
            by=request.user,
            note=data["note"],
            title=data["title"],
            body=data["body"],
            audience=data["audience"],
            slug=data["slug"],
            category=data["category"],
            departments=data["departments"],
            products=data["products"],
        )
    except KbError as exc:
        context["error"] = exc.detail
        return _form_page(request, context, status=exc.status)
    messages.success(request, _("Saved."))
    return redirect("console_kb_article", public_id=article.public_id)


@require_POST
@csrf_protect
@agent_required
def article_status(request: HttpRequest, public_id: str) -> HttpResponse:
    article = _load(request, public_id)
    if article is None:
        return _not_found(request)
    wanted = request.POST.get("status", "")
    try:
        check_may_publish(request.user, request.agent_scope)  # type: ignore[attr-defined]
        set_article_status(article, wanted, by=request.user)
    except KbError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(
            request, _("Published.") if wanted == Article.Status.PUBLISHED else _("Back to draft.")
        )
    return redirect("console_kb_article", public_id=article.public_id)


@require_POST
@csrf_protect
@agent_required
def article_revert(request: HttpRequest, public_id: str) -> HttpResponse:
    article = _load(request, public_id)
    if article is None:
        return _not_found(request)
    raw = request.POST.get("revision", "")
    try:
        if not raw.isdigit() or len(raw) > 7:
            raise KbError(_("no such revision"))
        check_may_edit(article, request.user, request.agent_scope)  # type: ignore[attr-defined]
        revert_article(article, int(raw), by=request.user)
    except KbError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Reverted to revision %(n)s.") % {"n": raw})
    return redirect("console_kb_article", public_id=article.public_id)
