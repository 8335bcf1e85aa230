"""The layering the code promises, checked: who may publish, and who may import whom.

Publishing (a doorbell on the channel layer) is how a state change reaches
sockets. It belongs to the actions that made the change, so that every path
to a change rings the same bells after the same commit. The realtime
primitive, the socket plumbing that rings what an action collected, the
channel layer itself, chat's event log and its scheduler are the only other
places allowed to send. The import contracts live in pyproject.toml
(`[tool.importlinter]`) and run in `make test` as `lint-imports`; the test
here proves they would catch an upward import.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "foundation",
    "crm",
    "queues",
    "chat",
    "tickets",
    "integrations",
    "kb",
    "reports",
    "frontend",
    "chatportal",
)

# The calls that put something on the channel layer.
PUBLISHING_CALLS = frozenset({"publish_on_commit", "send_now", "group_send", "ring"})

# Where they may appear (paths relative to the repository, fnmatch patterns).
PUBLISHERS = (
    "foundation/realtime.py",  # the one publish primitive
    "foundation/channel_layer.py",  # the layer itself
    "foundation/sockets.py",  # rings the doorbells an action's database hop collected
    "*/actions.py",
    "*/actions/*.py",  # chat's scheduler (actions/scheduling.py) included
    "chat/log.py",  # the event log posts each event's doorbell
)


def called_name(node: ast.Call) -> str | None:
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def publishing_calls(source: str) -> list[tuple[int, str]]:
    """(line, name) of every publishing call in `source`; also `async_to_sync(layer.group_send)`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = called_name(node)
            if name in PUBLISHING_CALLS:
                found.append((node.lineno, name))
            for argument in node.args:
                if isinstance(argument, ast.Attribute) and argument.attr in PUBLISHING_CALLS:
                    found.append((node.lineno, argument.attr))
    return found


def project_modules() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if "migrations" not in path.parts
    )


def is_publisher(relative: str) -> bool:
    return any(fnmatch(relative, pattern) for pattern in PUBLISHERS)


def test_only_the_allowed_modules_publish():
    outside = []
    seen = 0
    for path in project_modules():
        relative = path.relative_to(ROOT).as_posix()
        calls = publishing_calls(path.read_text(encoding="utf-8"))
        seen += len(calls)
        if not is_publisher(relative):
            outside += [f"{relative}:{line} {name}()" for line, name in calls]
    assert not outside, "publishing outside actions (move it into an action):\n" + "\n".join(
        outside
    )
    # The scan found the publishers it is meant to watch (an empty scan proves nothing).
    assert seen >= 20


def test_every_allowed_pattern_names_existing_code():
    """A stale allow-list entry would let a new module of that name publish unchecked."""
    relatives = [path.relative_to(ROOT).as_posix() for path in project_modules()]
    for pattern in PUBLISHERS:
        assert any(fnmatch(relative, pattern) for relative in relatives), pattern


def test_the_scan_sees_each_way_of_publishing():
    source = (
        "from asgiref.sync import async_to_sync\n"
        "def a(layer):\n"
        "    publish_on_commit('g', {})\n"
        "    realtime.send_now('g', {})\n"
        "    async_to_sync(layer.group_send)('g', {})\n"
        "async def b(layer, bells):\n"
        "    await layer.group_send('g', {})\n"
        "    await ring(bells)\n"
    )
    assert [name for _, name in publishing_calls(source)] == [
        "publish_on_commit",
        "send_now",
        "group_send",
        "group_send",
        "ring",
    ]
    assert not is_publisher("tickets/views.py") and is_publisher("tickets/actions/replies.py")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    executable = Path(sys.executable).with_name("lint-imports")
    return subprocess.run(
        [str(executable), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        timeout=120,
        check=False,
    )


def copy_of_the_code(destination: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package,
            destination / package,
            ignore=shutil.ignore_patterns("__pycache__", "locale", "static", "templates"),
        )
    shutil.copy(ROOT / "pyproject.toml", destination / "pyproject.toml")
    return destination


# A child process (import-linter must find the copied packages, not the imported ones);
# it reads files only, but the database-free guard cannot know that.
@pytest.mark.both_passes
def test_the_contracts_hold_and_refuse_an_upward_import(tmp_path):
    tree = copy_of_the_code(tmp_path)
    kept = lint_imports(tree)
    assert kept.returncode == 0, kept.stdout + kept.stderr

    # A lower layer reaching up, even from inside a function, breaks a contract.
    with (tree / "crm" / "models.py").open("a") as module:
        module.write("\n\ndef _upward():\n    from tickets.models import Ticket  # noqa\n")
    broken = lint_imports(tree)
    assert broken.returncode != 0
    assert "crm.models -> tickets.models" in broken.stdout
