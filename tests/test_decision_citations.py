"""Every design note the tree cites lives in docs/decisions/ and resolves.

A citation is `docs/decisions/<file>.md` with an optional `#section` (in
docs/*.md also the relative `decisions/<file>.md#section`). Notes kept
outside the repository cannot be read by whoever clones it, so the old
references to them must not come back either.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DECISIONS = ROOT / "docs" / "decisions"
SKIPPED_DIRECTORIES = {".git", ".venv", "var", "node_modules", "__pycache__", ".ruff_cache"}
TEXT_SUFFIXES = {".py", ".md", ".html", ".js", ".css", ".txt", ".toml", ".yml", ".yaml", ".cfg"}
CITATION = re.compile(r"(?<![\w/.-])(?:docs/)?decisions/([\w-]+\.md)(?:#([\w-]+))?")
# Spelled in pieces so that this file does not cite them itself.
OUTSIDE_NOTES = re.compile(
    "|".join(
        ["/work/" + "shared", "PIT" + "FALLS", "PE" + "ERS #", r"DESIGN\.md", r"CONVENTIONS\.md"]
    )
)


def text_files() -> list[Path]:
    files = []
    for path in ROOT.rglob("*"):
        if SKIPPED_DIRECTORIES.intersection(path.relative_to(ROOT).parts):
            continue
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name == "Makefile"):
            files.append(path)
    return files


def heading_anchors(markdown: str) -> set[str]:
    """GitHub's anchors: the heading lower-cased, punctuation dropped, spaces as hyphens."""
    anchors = set()
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*$", markdown, flags=re.MULTILINE):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


def citations() -> list[tuple[Path, str, str | None]]:
    found = []
    for path in text_files():
        for match in CITATION.finditer(path.read_text(encoding="utf-8", errors="replace")):
            found.append((path, match.group(1), match.group(2)))
    return found


def test_every_decision_citation_resolves_to_a_file_and_section():
    cited = citations()
    assert len({path for path, _file, _anchor in cited}) >= 10, "the scan found too few citations"
    broken = []
    for path, name, anchor in cited:
        note = DECISIONS / name
        if not note.is_file():
            broken.append(f"{path.relative_to(ROOT)}: {name} does not exist")
        elif anchor and anchor not in heading_anchors(note.read_text(encoding="utf-8")):
            broken.append(f"{path.relative_to(ROOT)}: {name} has no section #{anchor}")
    assert not broken, "\n".join(broken)


def test_no_file_cites_notes_kept_outside_the_repository():
    here = Path(__file__).resolve()
    leaks = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in text_files()
        if path != here
        for match in OUTSIDE_NOTES.finditer(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert not leaks, "\n".join(leaks)


def test_the_anchor_rule_matches_githubs():
    assert heading_anchors("## Fan-out to large groups\n") == {"fan-out-to-large-groups"}
    assert heading_anchors("# Online is not accepting chats\n") == {"online-is-not-accepting-chats"}
