"""Article actions: create, edit with revisions, revert, publish, translations, ticket drafts."""

from __future__ import annotations

import pytest

from kb.actions import (
    add_translation,
    create_article,
    draft_from_ticket,
    revert_article,
    set_article_status,
    translations_of,
    update_article,
)
from kb.errors import KbConflict, KbError
from kb.models import Article, Category
from tickets.actions.lifecycle import change_status

pytestmark = pytest.mark.django_db


def test_it_creates_a_draft_with_its_first_revision(support_agent, support):
    article = create_article(
        title="  Error   E42 after an update ",
        body="Reload the settings.\r\n",
        by=support_agent,
        locale="ro",
        departments=[support],
    )
    assert article.status == Article.Status.DRAFT and article.published_at is None
    assert article.title == "Error E42 after an update"
    assert article.slug == "error-e42-after-an-update"
    assert list(article.departments.all()) == [support]
    (revision,) = article.revisions.all()
    assert (revision.number, revision.author, revision.body) == (
        1,
        support_agent,
        "Reload the settings.",
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": " "}, "title"),
        ({"body": ""}, "body"),
        ({"title": "x" * 201}, "title"),
        ({"locale": "de"}, "locale"),
        ({"audience": "everyone"}, "audience"),
        ({"status": "archived"}, "status"),
    ],
)
def test_it_refuses_invalid_input_in_words(support_agent, fields, message):
    data = {"title": "A title", "body": "A body", **fields}
    with pytest.raises(KbError) as refused:
        create_article(by=support_agent, **data)
    assert message in refused.value.detail
    assert not Article.objects.exists()


def test_slugs_stay_unique_per_locale_and_keep_cyrillic(support_agent):
    first = create_article(title="Гарантия на реле", body="x", by=support_agent, locale="ru")
    second = create_article(title="Гарантия на реле", body="y", by=support_agent, locale="ru")
    other_locale = create_article(title="Гарантия на реле", body="z", by=support_agent, locale="en")
    assert first.slug == "гарантия-на-реле"
    assert second.slug == "гарантия-на-реле-2"
    assert other_locale.slug == "гарантия-на-реле"


def test_every_save_appends_a_revision_with_who_and_why(draft, support_agent, supervisor):
    update_article(draft, by=supervisor, note="clearer steps", body="Hold reset for 10 s.")
    draft.refresh_from_db()
    assert draft.body == "Hold reset for 10 s." and draft.updated_by == supervisor
    newest = draft.revisions.order_by("-number").first()
    assert (newest.number, newest.author, newest.note) == (2, supervisor, "clearer steps")


def test_saving_the_same_text_adds_no_revision(draft, support_agent, support):
    update_article(
        draft, by=support_agent, title=draft.title, body=draft.body, departments=[support]
    )
    assert draft.revisions.count() == 1


def test_it_refuses_fields_it_does_not_edit(draft, support_agent):
    with pytest.raises(KbError):
        update_article(draft, by=support_agent, view_count=1000)


def test_revert_brings_back_the_old_text_as_a_new_revision(draft, support_agent):
    update_article(draft, by=support_agent, title="Wrong title", body="Wrong body")
    article = revert_article(draft, 1, by=support_agent)
    assert (article.title, article.body) == (
        "Resetting a GW-4 gateway",
        "Hold **reset** for ten seconds.",
    )
    numbers = list(article.revisions.order_by("number").values_list("number", "note"))
    assert numbers[-1] == (3, "reverted to revision 1")
    assert len(numbers) == 3


def test_revert_to_a_missing_revision_is_not_found(draft, support_agent):
    with pytest.raises(KbError) as refused:
        revert_article(draft, 9, by=support_agent)
    assert refused.value.status == 404


def test_publish_and_unpublish_are_recorded(draft, supervisor):
    published = set_article_status(draft, Article.Status.PUBLISHED, by=supervisor)
    assert published.is_public and published.published_at is not None
    back = set_article_status(draft, Article.Status.DRAFT, by=supervisor)
    assert back.status == Article.Status.DRAFT
    notes = list(draft.revisions.order_by("number").values_list("note", flat=True))
    assert notes[-2:] == ["published", "unpublished"]


def test_translations_share_a_group_one_per_locale(draft, support_agent, support):
    romanian = add_translation(
        draft,
        locale="ro",
        title="Resetarea gateway-ului GW-4",
        body="Țineți apăsat.",
        by=support_agent,
    )
    assert romanian.translation_group == draft.translation_group
    assert list(romanian.departments.all()) == [support]
    assert [a.locale for a in translations_of(draft)] == ["en", "ro"]
    with pytest.raises(KbConflict):
        add_translation(draft, locale="ro", title="Altul", body="Alt text", by=support_agent)


def test_a_category_must_share_the_articles_locale(support_agent):
    romanian = Category.objects.create(locale="ro", slug="depanare", name="Depanare")
    with pytest.raises(KbError):
        create_article(title="T", body="B", by=support_agent, locale="en", category=romanian)


def test_a_ticket_draft_holds_the_question_and_the_solving_reply(solved_ticket):
    draft = draft_from_ticket(solved_ticket)
    assert draft.title == "Error E99 after updating the relay"
    assert draft.body.startswith("My relay shows error E99 since the firmware update")
    assert "Reload the saved settings file" in draft.body
    # The internal note never becomes article text.
    assert "Checking the logs" not in draft.body


def test_an_unsolved_ticket_makes_no_draft(solved_ticket, support_agent):
    change_status(solved_ticket, "open", by=support_agent)
    solved_ticket.refresh_from_db()
    with pytest.raises(KbConflict):
        draft_from_ticket(solved_ticket)
