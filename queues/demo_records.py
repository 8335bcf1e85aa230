"""The core demo rows, by natural key: what the apps above add their demo rows to.

`chatportal seed-demo` (chatportal/demo_data.py) seeds the departments, staff
and CRM records first and fills a `DemoData` with them; then each app above
(`chat`, `tickets`, `frontend`) that has a `demo_data.py` gets it in
`seed(demo)` and looks up what its own rows hang on. The record lives here,
the lowest package that knows every type in it (crm's and queues'), so those
apps need not import the wiring that calls them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm.models import Contact, Organization, Product, SlaPlan
from queues.models import Department


@dataclass
class DemoData:
    """What was seeded, by natural key, for the apps that add their own rows."""

    departments: dict[str, Department] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=dict)
    organizations: dict[str, Organization] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    plans: dict[str, SlaPlan] = field(default_factory=dict)
    password_hash: str = ""
