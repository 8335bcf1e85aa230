"""`GET /api/v1/reports/kpis`: validation, who sees what, JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client

from queues.tokens import issue_agent_token
from reports.kpis import KPI_FIELDS
from tests.api.conftest import assert_error
from tests.factories import make_agent, make_contact
from tickets.actions import messages
from tickets.models import Ticket

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/kpis"
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


def client_for(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_agent_token(user)}")


@pytest.fixture
def boris(support):
    return make_agent("boris", [support])


@pytest.fixture
def victor(support):
    return make_agent("victor", [], is_supervisor=True)


@pytest.fixture
def march_tickets(support, sales):
    contact = make_contact("Maria")
    made = []
    for department in (support, support, sales):
        made.append(
            messages.create_ticket(
                subject="Printer",
                body="Help",
                contact=contact,
                channel="email",
                department=department,
                author_role="customer",
                author_contact=contact,
            )  # fmt: skip
        )
    Ticket.objects.update(created_at="2026-03-10T10:00:00Z")
    return made


def test_a_supervisor_sees_every_department(victor, march_tickets):
    response = client_for(victor).get(URL, MARCH)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(KPI_FIELDS) <= set(body)
    assert body["period"] == {"from": "2026-03-01", "to": "2026-03-31", "tz": "UTC"}
    assert body["tickets_opened"] == 3
    assert body["chats_total"] == 0 and body["wait_s_median"] is None
    only_sales = client_for(victor).get(URL, {**MARCH, "department": "sales"}).json()
    assert only_sales["tickets_opened"] == 1
    both = client_for(victor).get(URL, {**MARCH, "department": "sales,support"}).json()
    assert both["tickets_opened"] == 3


def test_an_agent_sees_only_its_own_departments(boris, march_tickets):
    body = client_for(boris).get(URL, MARCH).json()
    assert body["tickets_opened"] == 2
    assert_error(client_for(boris).get(URL, {**MARCH, "department": "sales"}), 403, "forbidden")


def test_an_agent_without_departments_is_refused(support):
    loner = make_agent("lone", [])
    assert_error(client_for(loner).get(URL, MARCH), 403, "forbidden")


def test_no_token_no_kpis(client):
    assert_error(client.get(URL, MARCH), 401, "unauthorized")


@pytest.mark.parametrize(
    "query",
    [
        {"from": "2026-02-30", "to": "2026-03-01"},
        {"from": "yesterday", "to": "2026-03-01"},
        {"from": "2026-03-02", "to": "2026-03-01"},
        {"from": "2024-01-01", "to": "2026-03-01"},
        {**MARCH, "tz": "Mars/Olympus"},
        {**MARCH, "department": "nowhere"},
        {**MARCH, "agent": "nobody"},
        {**MARCH, "channel": "pigeon"},
        {**MARCH, "organization": "not-a-uuid"},
        {**MARCH, "organization": "7a0c2a43-1d4e-4f5a-9a43-2c1f9f1c8e11"},
    ],
)
def test_bad_input_is_a_400_json_error(victor, query):
    assert_error(client_for(victor).get(URL, query), 400, "invalid")


def test_a_zone_is_accepted_and_echoed(victor, march_tickets):
    body = client_for(victor).get(URL, {**MARCH, "tz": "Europe/Bucharest"}).json()
    assert body["period"]["tz"] == "Europe/Bucharest" and body["tickets_opened"] == 3


def test_csv_gives_the_same_fields(victor, march_tickets):
    response = client_for(victor).get(URL, {**MARCH, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["from", "to", "tz", *KPI_FIELDS]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["tickets_opened"] == "3" and row["wait_s_median"] == ""
    by_header = client_for(victor).get(URL, MARCH, HTTP_ACCEPT="text/csv")
    assert by_header.content == response.content


def test_the_endpoint_is_in_the_openapi_document(client):
    document = client.get("/api/v1/openapi.json").json()
    operation = document["paths"]["/api/v1/reports/kpis"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"from", "to", "tz", "department", "agent", "channel", "format"} <= names
    assert set(operation["responses"]["200"]["content"]) == {"application/json", "text/csv"}
