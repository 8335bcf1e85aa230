from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from queues.models import AgentApiToken, AgentProfile
from queues.tokens import (
    NotAnAgent,
    authenticate_agent_token,
    format_token,
    issue_agent_token,
)
from tests.api.conftest import assert_error

LOOKUP = "/api/v1/crm/lookup?phone=0721234567"


def test_it_answers_401_without_a_token(demo, client):
    response = client.get(LOOKUP)
    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer nonsense",
        "Bearer cpt_" + "0" * 32 + "." + "0" * 64,
        "Basic Ym9yaXM6ZGVtby1wYXNzLTEyMw==",
        "Bearer ",
    ],
)
def test_it_answers_401_for_a_bad_token(demo, header):
    client = Client(HTTP_AUTHORIZATION=header)
    assert_error(client.get(LOOKUP), 401, "unauthorized")


def test_it_answers_401_for_a_tampered_token(boris_token):
    tampered = boris_token[:-1] + ("0" if boris_token[-1] != "0" else "1")
    assert_error(Client(HTTP_AUTHORIZATION=f"Bearer {tampered}").get(LOOKUP), 401, "unauthorized")


def test_it_answers_401_after_the_token_is_revoked(api, boris_token):
    assert api.get(LOOKUP).status_code == 200
    AgentApiToken.objects.all().delete()
    assert_error(api.get(LOOKUP), 401, "unauthorized")


def test_it_answers_401_for_a_deactivated_agent(api):
    get_user_model().objects.filter(username="boris").update(is_active=False)
    assert_error(api.get(LOOKUP), 401, "unauthorized")


def test_it_serves_the_openapi_document_without_a_token(demo, client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Chatportal API"
    assert document["info"]["version"] == "1"
    assert "/api/v1/crm/lookup" in document["paths"]
    assert "post" in document["paths"]["/api/v1/calls"]
    assert document["components"]["securitySchemes"]


def test_it_answers_json_404_for_an_unknown_endpoint(api):
    assert_error(api.get("/api/v1/no/such/thing"), 404, "not_found")


def test_it_answers_json_404_at_the_root_of_the_api(api):
    # Was Django's HTML 404 page (ninja's own root view).
    assert_error(api.get("/api/v1/"), 404, "not_found")


def test_it_answers_500_without_a_trace_when_something_breaks(api, monkeypatch):
    import crm.api

    def explode(raw):
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(crm.api, "find_contact_by_phone", explode)
    error = assert_error(api.get(LOOKUP), 500, "server_error")
    assert "secret" not in error["detail"]


def test_it_answers_json_413_for_a_json_body_over_the_memory_limit(api, settings):
    # Django refuses it before any view (the NUL guard reads JSON bodies): was an HTML 400 page.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = '{"phone": "0721234567", "direction": "inbound", "note": "%s"}' % ("x" * 2000)
    response = api.post("/api/v1/calls", data=body, content_type="application/json")
    assert_error(response, 413, "too_large")


def test_it_answers_json_413_for_any_other_body_over_the_memory_limit(api, settings):
    # Read first by ninja's parser: was a 500.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.post("/api/v1/calls", data="x" * 2000, content_type="text/plain")
    assert_error(response, 413, "too_large")


def test_pages_keep_djangos_own_400_for_a_body_over_the_memory_limit(demo, client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client.post("/accounts/login/", data={"username": "x" * 2000})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/html")


# Tokens


def test_it_issues_the_same_token_every_time(demo):
    boris = get_user_model().objects.get(username="boris")
    first = issue_agent_token(boris)
    assert issue_agent_token(boris) == first
    assert AgentApiToken.objects.filter(user=boris).count() == 1
    public_id = AgentApiToken.objects.get(user=boris).public_id
    assert first == format_token(public_id)
    assert first.startswith(f"cpt_{public_id}.")
    assert len(first) == 4 + 32 + 1 + 64


def test_it_authenticates_only_the_owner_of_the_token(demo):
    users = get_user_model().objects
    boris, ana = users.get(username="boris"), users.get(username="ana")
    assert authenticate_agent_token(issue_agent_token(boris)) == boris
    assert authenticate_agent_token(issue_agent_token(ana)) == ana


def test_it_refuses_tokens_for_users_who_are_not_agents(demo):
    customer = get_user_model().objects.get(username="customer1@example.com")
    with pytest.raises(NotAnAgent):
        issue_agent_token(customer)
    # A row made by hand for a non-agent does not authenticate either.
    row = AgentApiToken.objects.create(user=customer, public_id="a" * 32)
    assert authenticate_agent_token(format_token(row.public_id)) is None


def test_it_stops_authenticating_when_the_agent_profile_goes(demo):
    boris = get_user_model().objects.get(username="boris")
    token = issue_agent_token(boris)
    AgentProfile.objects.filter(user=boris).delete()
    assert authenticate_agent_token(token) is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "cpt_",
        "cpt_abc.def",
        42,
        "CPT_" + "a" * 32 + "." + "b" * 64,
        "cpt_" + "A" * 32 + "." + "b" * 64,
        " cpt_" + "a" * 32 + "." + "b" * 64,
    ],
)
def test_it_refuses_malformed_tokens(db, raw, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert authenticate_agent_token(raw) is None


def test_it_refuses_a_forged_signature_without_a_query(demo, django_assert_num_queries):
    boris = get_user_model().objects.get(username="boris")
    public_id = issue_agent_token(boris).split(".")[0][4:]
    with django_assert_num_queries(0):
        assert authenticate_agent_token(f"cpt_{public_id}." + "f" * 64) is None


def test_it_notes_last_use_at_most_once_a_minute(demo, django_assert_num_queries):
    boris = get_user_model().objects.get(username="boris")
    token = issue_agent_token(boris)
    with django_assert_num_queries(2):  # read + first write
        authenticate_agent_token(token)
    first_use = AgentApiToken.objects.get(user=boris).last_used_at
    assert first_use is not None
    with django_assert_num_queries(1):  # read only
        authenticate_agent_token(token)
    AgentApiToken.objects.filter(user=boris).update(
        last_used_at=timezone.now() - dt.timedelta(minutes=2)
    )
    authenticate_agent_token(token)
    assert AgentApiToken.objects.get(user=boris).last_used_at > first_use - dt.timedelta(seconds=1)


def test_it_mounts_the_routers_that_apps_expose_in_their_api_module(tmp_path, monkeypatch):
    from ninja import NinjaAPI

    from chatportal.api import mount_app_routers

    package = tmp_path / "fakeapp"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "api.py").write_text(
        "from ninja import Router\n"
        "router = Router()\n"
        "@router.get('/ping')\n"
        "def ping(request):\n"
        "    return {'pong': True}\n"
        "API_ROUTERS = [('/fake', router)]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    target = NinjaAPI(urls_namespace="test-mount")
    mount_app_routers(target, ("fakeapp", "no_such_app_anywhere"))
    assert "/fake/ping" in target.get_openapi_schema(path_prefix="")["paths"]
