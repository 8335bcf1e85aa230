"""Admin pages for rows that only actions write: operators may look, not touch."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


class ViewOnlyAdminMixin:
    """No add, change or delete in the admin; the view permission still shows the rows.

    For event logs, files and records that an action writes together with
    their events and doorbells: an admin edit would skip both.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
