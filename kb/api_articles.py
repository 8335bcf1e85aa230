"""`/api/v1/kb/articles`: article CRUD for agents (PROTOCOL §5), mounted by `kb.api`.

Any agent reads every article and writes drafts; publishing, unpublishing,
deleting and changing a published article need a publisher (a supervisor or
the `kb.change_article` permission, see `kb.access`). `GET /kb/articles/{id}`
is open: a call without a token reads published public articles only, and an
internal or draft article answers it 404, like one that does not exist.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal, NoReturn

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Path, Router, Schema
from ninja.errors import HttpError
from pydantic import ConfigDict, StrictInt, StrictStr

from crm.models import Product
from foundation.api_errors import error_responses
from kb.access import access_article, check_may_edit, check_may_publish
from kb.actions import (
    MAX_BODY_CHARS,
    MAX_NOTE_CHARS,
    MAX_TITLE_CHARS,
    create_article,
    delete_article,
    revert_article,
    set_article_status,
    translations_of,
    update_article,
)
from kb.errors import KbError
from kb.models import Article, Category
from kb.rendering import render_markdown
from queues.agent_scope import AgentScope, agent_scope
from queues.models import Department
from queues.tokens import authenticate_agent_token
from tickets.access import access_ticket_for_agent
from tickets.errors import TicketNotFound

try:
    from ninja import Status
except ImportError:  # django-ninja < 1.5 answers a (status, body) tuple instead

    def Status(status_code, value):  # noqa: N802
        return status_code, value


router = Router(tags=["knowledge base"])

LocaleName = Literal["en", "ro", "ru"]
AudienceName = Literal["public", "internal"]
StatusName = Literal["draft", "published"]
Title = Annotated[StrictStr, Field(min_length=1, max_length=MAX_TITLE_CHARS)]
Body = Annotated[StrictStr, Field(min_length=1, max_length=MAX_BODY_CHARS)]
Slug = Annotated[StrictStr, Field(min_length=1, max_length=80)]
Note = Annotated[StrictStr, Field(max_length=MAX_NOTE_CHARS)]
Tags = Annotated[list[Slug], Field(max_length=50)]
ArticleId = Path[str, {"description": "An article id (UUID)"}]
MAX_LIST = 200


class ArticleIn(Schema):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "example": {
                "title": "Error E42 after a firmware update",
                "body": "Reload the settings file, then restart the relay.",
                "locale": "en",
            }
        },
    )

    title: Title
    body: Body
    locale: LocaleName = "en"
    audience: AudienceName = "public"
    status: StatusName = Field("draft", description="published needs a publisher")
    slug: Slug | None = None
    category: Slug | None = Field(None, description="A category slug in the same locale")
    departments: Tags = Field(default_factory=list, description="Department slugs")
    products: Tags = Field(default_factory=list, description="Product names")
    source_tickets: Annotated[list[Slug], Field(max_length=20)] = Field(
        default_factory=list, description='Solved tickets it answers, "T-1042"'
    )
    translation_of: StrictStr | None = Field(
        None, max_length=36, description="The id of the article this one translates"
    )
    note: Note = ""


class ArticlePatch(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"status": "draft"}})

    title: Title | None = None
    body: Body | None = None
    audience: AudienceName | None = None
    status: StatusName | None = None
    slug: Slug | None = None
    category: Slug | None = None
    departments: Tags | None = None
    products: Tags | None = None
    note: Note = ""


class RevertIn(Schema):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {"revision": 1}})

    revision: StrictInt = Field(ge=1, le=1_000_000)


class TranslationOut(Schema):
    id: str
    locale: LocaleName
    title: str
    status: StatusName


class ArticleOut(Schema):
    id: str
    translation_group: str
    locale: LocaleName
    slug: str
    title: str
    body: str = Field(description="Markdown")
    body_html: str = Field(description="Rendered and sanitized")
    audience: AudienceName
    status: StatusName
    category: str | None
    departments: list[str]
    products: list[str]
    source_tickets: list[str] = Field(description="Empty for readers who are not agents")
    translations: list[TranslationOut]
    created_at: datetime.datetime
    updated_at: datetime.datetime
    published_at: datetime.datetime | None


class ArticleListOut(Schema):
    total: int
    items: list[ArticleOut]


class RevisionOut(Schema):
    number: int
    title: str
    body: str
    status: StatusName
    audience: AudienceName
    author: str | None = Field(description="Username")
    note: str
    created_at: datetime.datetime


def _raise(exc: KbError | TicketNotFound) -> NoReturn:
    raise HttpError(exc.status, exc.detail) from exc


def _agent(request: HttpRequest) -> AgentScope:
    scope = agent_scope(request.user)
    if scope is None:
        raise HttpError(403, "only agents write articles")
    return scope


def _load(public_id: str, scope: AgentScope | None) -> Article:
    try:
        return access_article(public_id, scope=scope)
    except KbError as exc:
        _raise(exc)


def article_data(article: Article, *, for_agent: bool) -> dict[str, Any]:
    translations = [
        {"id": str(t.public_id), "locale": t.locale, "title": t.title, "status": t.status}
        for t in translations_of(article)
        if t.pk != article.pk and (for_agent or t.is_public)
    ]
    return {
        "id": str(article.public_id),
        "translation_group": str(article.translation_group),
        "locale": article.locale,
        "slug": article.slug,
        "title": article.title,
        "body": article.body,
        "body_html": str(render_markdown(article.body)),
        "audience": article.audience,
        "status": article.status,
        "category": article.category.slug if article.category_id else None,
        "departments": [d.slug for d in article.departments.all()],
        "products": [p.name for p in article.products.all()],
        "source_tickets": [t.number for t in article.source_tickets.all()] if for_agent else [],
        "translations": translations,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "published_at": article.published_at,
    }


def _departments(slugs: list[str]) -> list[Department]:
    found = list(Department.objects.filter(slug__in=set(slugs)))
    if len(found) != len(set(slugs)):
        raise HttpError(400, "unknown department")
    return found


def _products(names: list[str]) -> list[Product]:
    found = list(Product.objects.filter(name__in=set(names)))
    if len(found) != len(set(names)):
        raise HttpError(400, "unknown product")
    return found


def _category(slug: str | None, locale: str) -> Category | None:
    if slug is None:
        return None
    category = Category.objects.filter(slug=slug, locale=locale).first()
    if category is None:
        raise HttpError(400, "unknown category in this locale")
    return category


@router.get(
    "",
    response={200: ArticleListOut, **error_responses(403)},
    summary="Articles, newest change first (agents)",
)
def list_articles(
    request: HttpRequest,
    locale: LocaleName | None = None,
    status: StatusName | None = None,
    audience: AudienceName | None = None,
    q: Annotated[str, Field(max_length=200)] = "",
    limit: Annotated[int, Field(ge=1, le=MAX_LIST)] = 50,
    offset: Annotated[int, Field(ge=0, le=10_000_000)] = 0,
):
    """`q` matches titles (for finding an article to edit; `/kb/search` searches texts)."""
    _agent(request)
    articles = Article.objects.all()
    if locale:
        articles = articles.filter(locale=locale)
    if status:
        articles = articles.filter(status=status)
    if audience:
        articles = articles.filter(audience=audience)
    if q.strip():
        articles = articles.filter(Q(title__icontains=q.strip()) | Q(slug__icontains=q.strip()))
    total = articles.count()
    page = (
        articles.select_related("category")
        .prefetch_related("departments", "products", "source_tickets")
        .order_by("-updated_at", "-pk")[offset : offset + limit]
    )
    return {"total": total, "items": [article_data(a, for_agent=True) for a in page]}


@router.post(
    "",
    response={201: ArticleOut, **error_responses(403, 404, 409)},
    summary="Write an article, or a translation of one (agents)",
)
def create(request: HttpRequest, payload: ArticleIn):
    scope = _agent(request)
    if payload.status == "published":
        try:
            check_may_publish(request.user, scope)
        except KbError as exc:
            _raise(exc)
    original = _load(payload.translation_of, scope) if payload.translation_of else None
    tickets = []
    for number in payload.source_tickets:
        try:
            tickets.append(access_ticket_for_agent(request.user, number, scope=scope))
        except TicketNotFound:
            raise HttpError(400, "unknown ticket") from None
    try:
        article = create_article(
            title=payload.title,
            body=payload.body,
            by=request.user,
            locale=payload.locale,
            audience=payload.audience,
            status=payload.status,
            slug=payload.slug or "",
            category=_category(payload.category, payload.locale),
            departments=_departments(payload.departments),
            products=_products(payload.products),
            source_tickets=tickets,
            translation_of=original,
            note=payload.note,
        )
    except KbError as exc:
        _raise(exc)
    return Status(201, article_data(article, for_agent=True))


def _reader_scope(request: HttpRequest) -> AgentScope | None:
    """An agent token's scope; no token at all reads as anyone (published public articles)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _sep, token = header.partition(" ")
    user = authenticate_agent_token(token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise HttpError(401, "invalid or revoked token")
    return agent_scope(user)


@router.get(
    "/{article_id}",
    auth=None,
    response={200: ArticleOut, **error_responses(401, 404)},
    summary="One article: anyone reads a published public one, an agent token any",
)
def read(request: HttpRequest, article_id: ArticleId):
    """Without a token, an internal or draft article answers 404 like a missing one."""
    scope = _reader_scope(request)
    article = _load(article_id, scope)
    return article_data(article, for_agent=scope is not None)


@router.patch(
    "/{article_id}",
    response={200: ArticleOut, **error_responses(403, 404, 409)},
    summary="Change an article; status publishes or unpublishes it",
)
def update(request: HttpRequest, article_id: ArticleId, payload: ArticlePatch):
    scope = _agent(request)
    article = _load(article_id, scope)
    fields = payload.model_fields_set - {"note"}
    if not fields:
        raise HttpError(400, "nothing to change")
    for name in ("title", "body", "audience", "status", "slug", "departments", "products"):
        if name in fields and getattr(payload, name) is None:
            raise HttpError(400, f"{name} cannot be null")
    changes: dict[str, Any] = {}
    for name in ("title", "body", "audience", "slug"):
        if name in fields:
            changes[name] = getattr(payload, name)
    if "category" in fields:
        changes["category"] = _category(payload.category, article.locale)
    if "departments" in fields:
        changes["departments"] = _departments(payload.departments or [])
    if "products" in fields:
        changes["products"] = _products(payload.products or [])
    try:
        if changes:
            check_may_edit(article, request.user, scope)
        if "status" in fields and payload.status != article.status:
            check_may_publish(request.user, scope)
        if changes:
            article = update_article(article, by=request.user, note=payload.note, **changes)
        if "status" in fields:
            article = set_article_status(article, payload.status, by=request.user)
    except KbError as exc:
        _raise(exc)
    return article_data(article, for_agent=True)


@router.delete(
    "/{article_id}",
    response={204: None, **error_responses(403, 404)},
    summary="Delete an article and its history (publishers)",
)
def delete(request: HttpRequest, article_id: ArticleId):
    scope = _agent(request)
    article = _load(article_id, scope)
    try:
        check_may_publish(request.user, scope)
    except KbError as exc:
        _raise(exc)
    delete_article(article)
    return Status(204, None)


@router.get(
    "/{article_id}/revisions",
    response={200: list[RevisionOut], **error_responses(403, 404)},
    summary="An article's revisions, newest first (agents)",
)
def revisions(request: HttpRequest, article_id: ArticleId):
    scope = _agent(request)
    article = _load(article_id, scope)
    return [
        {
            "number": r.number,
            "title": r.title,
            "body": r.body,
            "status": r.status,
            "audience": r.audience,
            "author": r.author.get_username() if r.author else None,
            "note": r.note,
            "created_at": r.created_at,
        }
        for r in article.revisions.select_related("author").order_by("-number")
    ]


@router.post(
    "/{article_id}/revert",
    response={200: ArticleOut, **error_responses(403, 404)},
    summary="Bring back an older revision's text as a new revision",
)
def revert(request: HttpRequest, article_id: ArticleId, payload: RevertIn):
    scope = _agent(request)
    article = _load(article_id, scope)
    try:
        check_may_edit(article, request.user, scope)
        article = revert_article(article, payload.revision, by=request.user)
    except KbError as exc:
        _raise(exc)
    return article_data(article, for_agent=True)
