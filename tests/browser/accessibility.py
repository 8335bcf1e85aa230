"""axe-core in the browser tests: a page passes when it has no serious or critical violation.

axe-core comes bundled with `axe-playwright-python` (a dev dependency, no
network): it is injected into the page Playwright drives and run over the
whole document, open shadow roots (the widget) included. Minor and moderate
findings are not failures here; serious and critical ones are, and the
failure lists every rule with the offending elements, so the message alone
says what to fix and where.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

FAILING_IMPACTS = frozenset({"serious", "critical"})
# WCAG 2.0/2.1 A and AA plus axe's best practices (landmarks, one main, list structure…).
RUN_OPTIONS: Mapping[str, Any] = {"resultTypes": ["violations"]}


def serious_violations(violations: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [v for v in violations if v.get("impact") in FAILING_IMPACTS]


def _target(node: Mapping[str, Any]) -> str:
    # A target is a list of selectors, one per shadow root crossed on the way in.
    parts = node.get("target") or []
    return " >>> ".join(" ".join(part) if isinstance(part, list) else str(part) for part in parts)


def describe(violations: Sequence[Mapping[str, Any]], *, context: str = "") -> str:
    """One readable block per rule: id, impact, help, link, and each node's target."""
    lines = [
        f"{len(violations)} serious/critical axe-core violation(s) on {context or 'the page'}:"
    ]
    for violation in violations:
        lines.append(
            f"- {violation['id']} ({violation['impact']}): {violation.get('help', '')}"
            f" <{violation.get('helpUrl', '')}>"
        )
        for node in violation.get("nodes", []):
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            lines.append(f"    {_target(node)}" + (f"  -- {summary}" if summary else ""))
    return "\n".join(lines)


def axe_violations(page, *, selector: str | None = None) -> list[Mapping[str, Any]]:
    """Every violation axe-core reports on the page (or inside `selector`)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, context=selector, options=dict(RUN_OPTIONS))
    return list(results.response["violations"])


def assert_no_serious_violations(page, *, context: str = "", selector: str | None = None) -> None:
    """Fail with the list of serious and critical violations axe-core finds on `page`."""
    found = serious_violations(axe_violations(page, selector=selector))
    if found:
        raise AssertionError(describe(found, context=context or page.url))
