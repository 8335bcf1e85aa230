"""Continuity and language in the routing policy, on plain values (queues.routing)."""

from __future__ import annotations

from queues.routing import (
    TicketContinuity,
    TicketOwner,
    choose_agent,
    language_of,
    plan_assignments,
    product_department,
    speaks,
    ticket_continuity,
)
from tests.queues.test_routing_policy import T0, agent, chat


def test_a_locale_is_read_as_its_language():
    assert [language_of(x) for x in ("de-AT", "de_AT", "DE", " ro ", "")] == [
        "de",
        "de",
        "de",
        "ro",
        "",
    ]
    assert speaks(agent(1, languages=frozenset({"ro", "RU"})), "ru-MD")
    assert not speaks(agent(1, languages=frozenset({"ro"})), "")


def test_an_agent_who_speaks_the_visitors_language_goes_before_a_less_loaded_one():
    busy_romanian = agent(1, active=2, languages=frozenset({"ro", "en"}))
    idle_english = agent(2, active=0, languages=frozenset({"en"}))
    picked = choose_agent(chat(10, locale="ro-RO"), [idle_english, busy_romanian])
    assert picked.agent_id == 1


def test_without_a_speaker_of_the_language_load_decides():
    assert (
        choose_agent(
            chat(10, locale="de"),
            [agent(1, active=2, languages=frozenset({"ro"})), agent(2, active=0)],
        ).agent_id
        == 2
    )


def test_the_account_owner_still_goes_before_language():
    owner = agent(1, languages=frozenset({"en"}))
    speaker = agent(2, languages=frozenset({"ro"}))
    picked = choose_agent(chat(10, locale="ro", preferred_agent_ids=(1,)), [speaker, owner])
    assert picked.agent_id == 1


def test_language_never_takes_a_full_agent():
    full_speaker = agent(1, active=3, cap=3, languages=frozenset({"ro"}))
    picked = choose_agent(chat(10, locale="ro"), [full_speaker, agent(2)])
    assert picked.agent_id == 2


def test_a_pass_fills_the_speaker_then_moves_on():
    speaker = agent(1, cap=1, languages=frozenset({"ro"}))
    other = agent(2, cap=2)
    plan = plan_assignments(
        [chat(10, locale="ro", minute=0), chat(11, locale="ro", minute=1)],
        [other, speaker],
        now=T0,
    )
    assert [(c.conversation_id, a.agent_id) for c, a in plan] == [(10, 1), (11, 2)]


def test_a_named_products_route_wins_then_agreeing_owned_products():
    assert product_department("support", named="metering", owned=["billing"]) == "metering"
    assert product_department("support", owned=["metering", "metering", ""]) == "metering"
    # Products of two departments: the customer may be writing about either.
    assert product_department("support", owned=["metering", "billing"]) == "support"
    assert product_department("support") == "support"


def owner(departments=("support",), **kw):
    return TicketOwner(agent_id=7, departments=frozenset(departments), **kw)


def test_the_owner_takes_a_ticket_of_a_department_they_serve():
    assert ticket_continuity("support", owner()) == TicketContinuity(assign_to=7)
    assert ticket_continuity("sales", owner(supervisor=True)) == TicketContinuity(assign_to=7)


def test_an_owner_of_another_department_is_notified_instead():
    assert ticket_continuity("sales", owner()) == TicketContinuity(notify=7)


def test_no_owner_or_a_disabled_one_changes_nothing():
    assert ticket_continuity("support", None) == TicketContinuity()
    assert ticket_continuity("support", owner(active=False)) == TicketContinuity()
