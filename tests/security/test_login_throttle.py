"""Password guessing on the sign-in forms (portal, console, admin) is throttled.

The portal's e-mail link requests have their own limits
(tests/tickets/test_portal_views.py::test_it_rate_limits_link_requests_per_address).
"""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import AGENT_PASSWORD
from tests.security.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def form_errors(response) -> str:
    return " ".join(
        re.findall(r'<ul class="errorlist[^"]*">(.*?)</ul>', response.content.decode(), re.S)
    )


def portal_login(client: Client, username: str, password: str):
    return client.post(reverse("portal_login"), {"username": username, "password": password})


def test_ten_wrong_passwords_lock_the_portal_account_without_saying_so(
    customer, other_customer, settings
):
    settings.CHATPORTAL_LOGIN_FAILURES_PER_USERNAME = 10
    attacker = Client()
    wrong = [portal_login(attacker, "customer1@example.com", f"guess-{n}") for n in range(10)]
    assert {r.status_code for r in wrong} == {400}
    # The right password now gets the very answer a wrong one gets.
    blocked = portal_login(Client(), "customer1@example.com", PASSWORD)
    assert blocked.status_code == 400
    assert form_errors(blocked) == form_errors(wrong[0]) != ""
    assert "_auth_user_id" not in Client().session
    # Another customer, from the same address, is unaffected.
    assert portal_login(attacker, "customer2@example.com", PASSWORD).status_code == 302


def test_below_the_limit_the_right_password_still_works(customer, settings):
    settings.CHATPORTAL_LOGIN_FAILURES_PER_USERNAME = 10
    client = Client()
    for n in range(9):
        portal_login(client, "customer1@example.com", f"guess-{n}")
    assert portal_login(client, "customer1@example.com", PASSWORD).status_code == 302


@pytest.mark.parametrize("path", ["/accounts/login/", "/admin/login/"])
def test_the_console_and_admin_sign_in_are_throttled_too(support_agent, settings, path):
    settings.CHATPORTAL_LOGIN_FAILURES_PER_USERNAME = 5
    support_agent.is_staff = True
    support_agent.save()
    for n in range(5):
        assert (
            Client().post(path, {"username": "boris", "password": f"guess-{n}"}).status_code == 200
        )
    refused = Client().post(path, {"username": "boris", "password": AGENT_PASSWORD})
    assert refused.status_code == 200 and "_auth_user_id" not in refused.wsgi_request.session


def test_one_client_spraying_many_accounts_is_stopped(customer, other_customer, settings):
    settings.CHATPORTAL_LOGIN_FAILURES_PER_CLIENT = 20
    sprayer = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(20):
        portal_login(sprayer, f"user{n}@example.com", "Password1")
    assert portal_login(sprayer, "customer1@example.com", PASSWORD).status_code == 400
    # Customers elsewhere still sign in.
    assert (
        portal_login(
            Client(REMOTE_ADDR="198.51.100.7"), "customer1@example.com", PASSWORD
        ).status_code
        == 302
    )


def test_behind_the_proxy_clients_are_told_apart_by_the_address_it_appends(customer, settings):
    settings.CHATPORTAL_TRUST_X_FORWARDED_FOR = True
    settings.CHATPORTAL_LOGIN_FAILURES_PER_CLIENT = 5
    proxy = "10.0.0.2"
    # The sprayer forges a first X-Forwarded-For entry; nginx appends its real address last.
    for n in range(5):
        portal_login(
            Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}, 203.0.113.9"),
            f"user{n}@example.com",
            "Password1",
        )
    sprayer = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.9")
    assert portal_login(sprayer, "customer1@example.com", PASSWORD).status_code == 400
    # Another visitor behind the same proxy is not locked out with the sprayer.
    neighbour = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR="198.51.100.77")
    assert portal_login(neighbour, "customer1@example.com", PASSWORD).status_code == 302
