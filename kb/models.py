"""The knowledge base: articles in three languages, their history and their votes.

One article is one text in one locale; its translations share
`translation_group` (the public pages link them with hreflang). Audience,
status, category and tags belong to each text, so a translation can be
published after the original. An `internal` article is a known solution for
agents only: it never reaches the widget, the portal, `/kb/` or an
anonymous API call.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Locale(models.TextChoices):
    EN = "en", "English"
    RO = "ro", "Română"
    RU = "ru", "Русский"


class Category(models.Model):
    """A shelf of the public knowledge base, named in one locale."""

    locale = models.CharField(_("locale"), max_length=5, choices=Locale.choices)
    slug = models.SlugField(_("slug"), max_length=80)
    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["locale", "position", "name"]
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["locale", "slug"], name="kb_category_slug_per_locale")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.locale})"


class Article(models.Model):
    class Audience(models.TextChoices):
        PUBLIC = "public", _("public")
        INTERNAL = "internal", _("internal (agents only)")

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        PUBLISHED = "published", _("published")

    # The id the API and pages show: integer keys stay internal (no enumeration).
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    translation_group = models.UUIDField(default=uuid.uuid4, db_index=True)
    locale = models.CharField(_("locale"), max_length=5, choices=Locale.choices, default="en")
    slug = models.SlugField(_("slug"), max_length=200, allow_unicode=True)
    title = models.CharField(_("title"), max_length=200)
    # Markdown; rendered and sanitized on the way out, never stored as HTML.
    body = models.TextField(_("body"))
    audience = models.CharField(
        _("audience"), max_length=10, choices=Audience.choices, default=Audience.PUBLIC
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="articles"
    )
    departments = models.ManyToManyField(
        "queues.Department", blank=True, related_name="kb_articles"
    )
    products = models.ManyToManyField("crm.Product", blank=True, related_name="kb_articles")
    # The solved tickets this article answers ("Create article from this ticket").
    source_tickets = models.ManyToManyField(
        "tickets.Ticket", blank=True, related_name="kb_articles"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    unhelpful_count = models.PositiveIntegerField(default=0)
    # How many times it was suggested, opened from a suggestion, and solved a chat.
    suggested_count = models.PositiveIntegerField(default=0)
    deflection_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["title"]
        constraints = [
            models.UniqueConstraint(
                fields=["translation_group", "locale"], name="kb_one_translation_per_locale"
            ),
            models.UniqueConstraint(fields=["locale", "slug"], name="kb_article_slug_per_locale"),
        ]
        indexes = [models.Index(fields=["locale", "status", "audience"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.locale})"

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.PUBLISHED and self.audience == self.Audience.PUBLIC


class ArticleRevision(models.Model):
    """One saved state of an article: who changed what, and the text to revert to."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Article.Status.choices)
    audience = models.CharField(max_length=10, choices=Article.Audience.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["article", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["article", "number"], name="kb_revision_number")
        ]

    def __str__(self) -> str:
        return f"{self.article} r{self.number}"


class ArticleVote(models.Model):
    """'Was this helpful?': one vote per visitor, customer or browser session."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="votes")
    # "visitor:<public id>", "contact:<public id>" or "session:<hash>": who voted, no personal data.
    voter = models.CharField(max_length=100)
    helpful = models.BooleanField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "voter"], name="kb_one_vote_per_voter")
        ]

    def __str__(self) -> str:
        return f"{self.voter} {'+' if self.helpful else '-'} {self.article_id}"


class PortalArticleRead(models.Model):
    """A customer opened an article suggested on the portal's new-ticket form.

    It counts as a portal deflection when that customer sends no ticket
    within `kb.deflection.PORTAL_DEFLECTION_WINDOW` of reading it (the
    question answered, the form left): `kb.deflection.portal_deflections()`.
    """

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="portal_reads")
    contact = models.ForeignKey(
        "crm.Contact", on_delete=models.CASCADE, related_name="kb_portal_reads"
    )
    read_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-read_at"]

    def __str__(self) -> str:
        return f"{self.contact_id} read {self.article_id}"


class ArticleImage(models.Model):
    """A picture for articles, uploaded through the same checks as attachments.

    Markdown links it as `/kb/images/<public_id>/`; raster images only (PNG,
    JPEG, GIF, WebP), served inline with `nosniff` and a sandboxing CSP. The
    id is unguessable, so an internal article's picture is not listed anywhere.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    storage_name = models.CharField(max_length=200)
    filename = models.CharField(max_length=150)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.filename
