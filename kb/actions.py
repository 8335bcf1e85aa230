"""Every change to an article: write, revise, revert, publish, translate, draft from a ticket.

The callers (console views, API endpoints, the demo seed) authorize with
`kb.access` first; these functions validate the input and write. Each save
appends an `ArticleRevision` (who, when, a note, the text it left) in the
same transaction, with the article row locked so two saves never take the
same revision number. The KB has no event log or live screen, so nothing is
published to the channel layer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from crm.models import Product
from foundation.uploads import (
    INLINE_TYPES,
    CheckedUpload,
    UploadRefused,
    discard_stored,
    store_upload,
)
from kb.errors import KbConflict, KbError
from kb.models import Article, ArticleImage, ArticleRevision, Category, Locale
from queues.models import Department
from tickets.models import Ticket, TicketEvent

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 100_000
MAX_NOTE_CHARS = 200
MAX_SLUG_CHARS = 180
# What `update_article` may change; anything else is the caller's mistake.
EDITABLE_FIELDS = frozenset(
    {"title", "body", "audience", "category", "departments", "products", "slug"}
)


# --- validation ----------------------------------------------------------------------------


def clean_title(title: object) -> str:
    text = " ".join(str(title or "").split())
    if not text:
        raise KbError(_("an article needs a title"))
    if len(text) > MAX_TITLE_CHARS:
        raise KbError(_("the title is longer than %(n)d characters") % {"n": MAX_TITLE_CHARS})
    return text


def clean_body(body: object) -> str:
    text = str(body or "").replace("\r\n", "\n").strip()
    if not text:
        raise KbError(_("an article needs a body"))
    if len(text) > MAX_BODY_CHARS:
        raise KbError(_("the body is longer than %(n)d characters") % {"n": MAX_BODY_CHARS})
    return text


def clean_locale(locale: object) -> str:
    if locale not in Locale.values:
        raise KbError(_("the locale must be one of: %(list)s") % {"list": ", ".join(Locale.values)})
    return str(locale)


def clean_audience(audience: object) -> str:
    if audience not in Article.Audience.values:
        raise KbError(_("the audience must be public or internal"))
    return str(audience)


def clean_note(note: object) -> str:
    return " ".join(str(note or "").split())[:MAX_NOTE_CHARS]


def _unique_slug(wanted: str, title: str, locale: str, *, exclude_pk: int | None) -> str:
    base = slugify(wanted or title, allow_unicode=True)[:MAX_SLUG_CHARS].strip("-") or "article"
    taken = Article.objects.filter(locale=locale, slug__startswith=base)
    if exclude_pk is not None:
        taken = taken.exclude(pk=exclude_pk)
    used = set(taken.values_list("slug", flat=True))
    slug, n = base, 2
    while slug in used:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_category(category: Category | None, locale: str) -> None:
    if category is not None and category.locale != locale:
        raise KbError(_("the category is in another locale"))


# --- revisions ---------------------------------------------------------------------------------


def _append_revision(article: Article, *, by: AbstractBaseUser | None, note: str) -> None:
    last = article.revisions.aggregate(last=Max("number"))["last"] or 0
    ArticleRevision.objects.create(
        article=article,
        number=last + 1,
        title=article.title,
        body=article.body,
        status=article.status,
        audience=article.audience,
        author=by,
        note=note,
    )


def _locked(article: Article) -> Article:
    return Article.objects.select_for_update().get(pk=article.pk)


def _refresh(target: Article, source: Article) -> Article:
    for field in source._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    return target


# --- actions -------------------------------------------------------------------------------


def create_article(
    *,
    title: str,
    body: str,
    by: AbstractBaseUser | None,
    locale: str = Locale.EN,
    audience: str = Article.Audience.PUBLIC,
    status: str = Article.Status.DRAFT,
    slug: str = "",
    category: Category | None = None,
    departments: Iterable[Department] = (),
    products: Iterable[Product] = (),
    source_tickets: Iterable[Ticket] = (),
    translation_of: Article | None = None,
    translation_group: uuid.UUID | None = None,
    note: str = "",
) -> Article:
    """A new article (a draft unless the caller, a publisher, says otherwise) and its revision 1."""
    title, body = clean_title(title), clean_body(body)
    locale, audience = clean_locale(locale), clean_audience(audience)
    if status not in Article.Status.values:
        raise KbError(_("the status must be draft or published"))
    _check_category(category, locale)
    now = timezone.now()
    with transaction.atomic():
        article = Article(
            locale=locale,
            title=title,
            body=body,
            audience=audience,
            status=status,
            category=category,
            created_by=by,
            updated_by=by,
            created_at=now,
            updated_at=now,
            published_at=now if status == Article.Status.PUBLISHED else None,
        )
        if translation_of is not None:
            if Article.objects.filter(
                translation_group=translation_of.translation_group, locale=locale
            ).exists():
                raise KbConflict(_("this article already has a translation in that locale"))
            article.translation_group = translation_of.translation_group
        elif translation_group is not None:
            # A fixed group (the demo seed): the same check as for a translation.
            if Article.objects.filter(translation_group=translation_group, locale=locale).exists():
                raise KbConflict(_("this article already has a translation in that locale"))
            article.translation_group = translation_group
        article.slug = _unique_slug(slug, title, locale, exclude_pk=None)
        try:
            with transaction.atomic():
                article.save(force_insert=True)
        except IntegrityError:
            # A concurrent save took the slug or the translation's locale first.
            raise KbConflict(_("an article with this address or locale was just saved")) from None
        article.departments.set(departments)
        article.products.set(products)
        if source_tickets:
            article.source_tickets.set(source_tickets)
        _append_revision(article, by=by, note=clean_note(note) or _("created"))
    return article


def update_article(
    article: Article, *, by: AbstractBaseUser | None, note: str = "", **changes: Any
) -> Article:
    """Change what `changes` names; a new revision records it. Unchanged input adds nothing."""
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise KbError(
            _("these fields cannot be changed: %(names)s") % {"names": ", ".join(sorted(unknown))}
        )
    with transaction.atomic():
        locked = _locked(article)
        changed = False
        if "title" in changes:
            title = clean_title(changes["title"])
            changed |= title != locked.title
            locked.title = title
        if "body" in changes:
            body = clean_body(changes["body"])
            changed |= body != locked.body
            locked.body = body
        if "audience" in changes:
            audience = clean_audience(changes["audience"])
            changed |= audience != locked.audience
            locked.audience = audience
        if "category" in changes:
            _check_category(changes["category"], locked.locale)
            new_id = changes["category"].pk if changes["category"] is not None else None
            changed |= new_id != locked.category_id
            locked.category_id = new_id
        if changes.get("slug"):
            slug = _unique_slug(changes["slug"], locked.title, locked.locale, exclude_pk=locked.pk)
            changed |= slug != locked.slug
            locked.slug = slug
        for name in ("departments", "products"):
            if name in changes:
                wanted = {obj.pk for obj in changes[name]}
                relation = getattr(locked, name)
                if wanted != set(relation.values_list("pk", flat=True)):
                    relation.set(wanted)
                    changed = True
        if changed:
            locked.updated_by = by
            locked.updated_at = timezone.now()
            locked.save()
            _append_revision(locked, by=by, note=clean_note(note) or _("edited"))
    return _refresh(article, locked)


def set_article_status(article: Article, status: str, *, by: AbstractBaseUser | None) -> Article:
    """Publish or unpublish (the caller checked that `by` is a publisher)."""
    if status not in Article.Status.values:
        raise KbError(_("the status must be draft or published"))
    with transaction.atomic():
        locked = _locked(article)
        if locked.status != status:
            now = timezone.now()
            locked.status = status
            locked.updated_by, locked.updated_at = by, now
            if status == Article.Status.PUBLISHED:
                locked.published_at = now
            locked.save()
            note = _("published") if status == Article.Status.PUBLISHED else _("unpublished")
            _append_revision(locked, by=by, note=note)
    return _refresh(article, locked)


def revert_article(article: Article, number: int, *, by: AbstractBaseUser | None) -> Article:
    """Bring back revision `number`'s title, body and audience as a new revision."""
    revision = article.revisions.filter(number=number).first()
    if revision is None:
        raise KbError(_("no such revision"), code="not_found", status=404)
    with transaction.atomic():
        locked = _locked(article)
        locked.title, locked.body, locked.audience = (
            revision.title,
            revision.body,
            revision.audience,
        )
        locked.updated_by, locked.updated_at = by, timezone.now()
        locked.save()
        _append_revision(locked, by=by, note=_("reverted to revision %(n)d") % {"n": number})
    return _refresh(article, locked)


def add_translation(
    original: Article, *, locale: str, title: str, body: str, by: AbstractBaseUser | None
) -> Article:
    """The same article in another locale, in its translation group, with the original's tags."""
    return create_article(
        title=title,
        body=body,
        by=by,
        locale=locale,
        audience=original.audience,
        departments=original.departments.all(),
        products=original.products.all(),
        translation_of=original,
        note=_("translated from %(locale)s") % {"locale": original.locale},
    )


def add_image(upload: CheckedUpload, *, by: AbstractBaseUser | None) -> ArticleImage:
    """Store a checked picture for articles (raster images only: they render inline)."""
    if upload.content_type not in INLINE_TYPES:
        raise UploadRefused(
            _("Articles take PNG, JPEG, GIF or WebP images."),
            status=415,
            code="unsupported_media_type",
        )
    name = store_upload(upload, area="kb")
    try:
        with transaction.atomic():
            return ArticleImage.objects.create(
                storage_name=name,
                filename=upload.filename,
                content_type=upload.content_type,
                size=upload.size,
                uploaded_by=by,
            )
    except Exception:
        discard_stored(name)
        raise


def delete_article(article: Article) -> None:
    article.delete()


def translations_of(article: Article) -> list[Article]:
    """The article's texts in every locale, its own included, in the locales' order."""
    order = {code: i for i, code in enumerate(Locale.values)}
    group = Article.objects.filter(translation_group=article.translation_group)
    return sorted(group, key=lambda a: order.get(a.locale, 99))


# --- from a solved ticket --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TicketDraft:
    title: str
    body: str
    locale: str


SOLVED_STATUSES = (Ticket.Status.SOLVED, Ticket.Status.CLOSED)


def draft_from_ticket(ticket: Ticket) -> TicketDraft:
    """What the article form starts with: the customer's question and the agent's solving reply.

    The question is the first customer message (the ticket's opening one when
    the customer wrote it); the answer is the last public agent reply. Internal
    notes never make it in. The agent edits both before anyone publishes.
    """
    if ticket.status not in SOLVED_STATUSES:
        raise KbConflict(_("only a solved ticket becomes an article"))
    events = ticket.events.filter(
        kind__in=(TicketEvent.Kind.CREATED, TicketEvent.Kind.REPLY), internal=False
    ).order_by("seq")
    question = answer = ""
    for event in events:
        text = str(event.payload.get("body") or "").strip()
        if not text:
            continue
        if event.author_role == TicketEvent.Role.AGENT:
            answer = text
        elif not question:
            question = text
    if not question:
        opening = events.filter(kind=TicketEvent.Kind.CREATED).first()
        question = str(opening.payload.get("body") or "").strip() if opening else ""
    contact_locale = (ticket.contact.locale or "")[:2] if ticket.contact_id else ""
    parts = [question or ticket.display_subject]
    parts.append(f"## {_('Solution')}\n\n{answer}" if answer else f"## {_('Solution')}\n\n…")
    return TicketDraft(
        title=(ticket.subject or ticket.display_subject)[:MAX_TITLE_CHARS],
        body="\n\n".join(parts),
        locale=contact_locale if contact_locale in Locale.values else Locale.EN,
    )
