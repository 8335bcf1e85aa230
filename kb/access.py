"""Who may read, write and publish which article: one rule for the console and the API.

Any agent may write drafts: agents of a department edit the articles tagged
with one of their departments, and the untagged ones. Publishing,
unpublishing, deleting, and changing an article that is already published
need a *publisher*: a supervisor, or a user with the `kb.change_article`
permission (given in /admin/ to a team lead, say). So a new agent can turn a
solved ticket into a draft on day one, and a second pair of eyes publishes it.

Readers who are not agents see published public articles only; an internal
or draft article is "not found" for them, exactly like one that does not
exist.
"""

from __future__ import annotations

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kb.errors import ArticleNotFound, KbForbidden
from kb.models import Article
from queues.agent_scope import AgentScope


def is_publisher(user: AbstractBaseUser, scope: AgentScope | None) -> bool:
    if scope is None:
        return False
    return scope.is_supervisor or user.has_perm("kb.change_article")


def articles_for_agent(scope: AgentScope | None) -> QuerySet[Article]:
    """Agents read every article, internal ones included (known solutions are for all agents)."""
    if scope is None:
        return Article.objects.none()
    return Article.objects.all()


def articles_for_reader() -> QuerySet[Article]:
    return Article.objects.filter(status=Article.Status.PUBLISHED, audience=Article.Audience.PUBLIC)


def _parse_public_id(raw: object) -> uuid.UUID:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise ArticleNotFound(_("no such article")) from None


def access_article(public_id: object, *, scope: AgentScope | None) -> Article:
    """An agent gets any article; anyone else a published public one, or not found."""
    articles = articles_for_agent(scope) if scope is not None else articles_for_reader()
    article = articles.filter(public_id=_parse_public_id(public_id)).first()
    if article is None:
        raise ArticleNotFound(_("no such article"))
    return article


def may_edit(article: Article, user: AbstractBaseUser, scope: AgentScope | None) -> bool:
    if scope is None:
        return False
    if is_publisher(user, scope):
        return True
    if article.status == Article.Status.PUBLISHED:
        return False
    departments = {d.pk for d in article.departments.all()}
    return not departments or bool(departments & scope.department_ids)


def check_may_edit(article: Article, user: AbstractBaseUser, scope: AgentScope | None) -> None:
    if scope is None:
        raise KbForbidden(_("only agents write articles"))
    if may_edit(article, user, scope):
        return
    if article.status == Article.Status.PUBLISHED:
        raise KbForbidden(_("only a publisher changes a published article"))
    raise KbForbidden(_("this article belongs to departments you do not serve"))


def check_may_publish(user: AbstractBaseUser, scope: AgentScope | None) -> None:
    if not is_publisher(user, scope):
        raise KbForbidden(_("only a supervisor or a publisher publishes articles"))
