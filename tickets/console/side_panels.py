"""Sections a higher app adds to the console ticket page's side column.

The ticket page lives below `kb` (and any later app) in the layers, so it
cannot import them; they register the template of their section in their
AppConfig.ready() instead (the KB search panel). Each template is included
with `target`, the id of the reply textarea, `open=True` and `department`,
the ticket's department id.
"""

from __future__ import annotations

_side_panels: list[str] = []


def register_side_panel(template_name: str) -> None:
    if template_name not in _side_panels:
        _side_panels.append(template_name)


def side_panels() -> tuple[str, ...]:
    return tuple(_side_panels)
