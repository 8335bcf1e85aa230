"""The shape tickets/ keeps: no import hides inside a function (who publishes: tests/test_architecture.py)."""

from __future__ import annotations

import ast
from pathlib import Path

TICKETS = Path(__file__).resolve().parents[2] / "tickets"


def modules() -> list[Path]:
    return sorted(p for p in TICKETS.rglob("*.py") if "migrations" not in p.parts)


def test_no_tickets_module_is_imported_inside_a_function():
    # A function-level import hides a cycle; apps.py's ready() wiring is the exception.
    offenders = []
    for path in modules():
        if path.name == "apps.py":
            continue
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tickets"):
                    offenders.append(f"{path.relative_to(TICKETS)}:{node.lineno}")
    assert offenders == []
