"""On PostgreSQL every query of the search can use an index (migration 0005_search_indexes).

A test database holds a few rows, for which a sequential scan is cheapest; with
sequential scans disabled, a query that no index serves still shows one. So a
change of a query's shape that no index matches any more (a cast, a collation,
a lookup) fails here, not in production at 100,000 contacts.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.search import search

pytestmark = pytest.mark.services

BIG_TABLES = ("crm_contact", "crm_contactphone", "crm_contactemail", "crm_asset", "tickets_ticket")


@pytest.mark.parametrize(
    "query",
    [
        "0721 234 567",  # phone, exact
        "0721 23",  # phone, prefix
        "customer1@example.com",  # e-mail
        "RZA-2024",  # serial prefix, e-mail prefix, name prefix
        "popescu",  # names: prefix and substring
        "T-1001",  # ticket
    ],
)
def test_every_query_can_use_an_index(demo, query):
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL: set DATABASE_URL")
    boris = get_user_model().objects.get(username="boris")
    with CaptureQueriesContext(connection) as captured:
        search(query, user=boris)
    statements = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("SELECT")]
    assert statements
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            for sql in statements:
                cursor.execute("EXPLAIN " + sql)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                for table in BIG_TABLES:
                    assert f"Seq Scan on {table}" not in plan, f"{sql}\n{plan}"
        finally:
            cursor.execute("SET enable_seqscan = on")
