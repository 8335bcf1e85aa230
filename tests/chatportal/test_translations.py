"""The shipped Romanian and Russian catalogs (chatportal/locale/) are complete, consistent and compiled.

The .po files are parsed with the standard library only (no polib, no GNU gettext at test
time). The checks cover the catalogs as committed: strings added to the source later and not
yet extracted do not fail these tests.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

LOCALE_DIR = Path(__file__).resolve().parents[2] / "chatportal" / "locale"
LANGUAGES = ["ro", "ru"]

PLACEHOLDER_RE = re.compile(r"%\(\w+\)[sdif]|%[sdif]|\{\w*\}")
TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")
CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
# Romanian must use the comma-below letters (ș ț), not the cedilla look-alikes (ş ţ).
CEDILLA_RE = re.compile("[\u015e\u015f\u0162\u0163]")
# Msgstrs allowed to be written without Cyrillic letters in Russian (product names).
RU_LATIN_OK = {"Chatportal"}


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    line: int = 0

    @property
    def forms(self) -> list[str]:
        return [self.msgstr[i] for i in sorted(self.msgstr)]


def _unquote(text: str, path: Path, lineno: int) -> str:
    text = text.strip()
    if not (text.startswith('"') and text.endswith('"')):
        raise AssertionError(f"{path}:{lineno}: expected a quoted string, got {text!r}")
    return ast.literal_eval(text)


def parse_po(path: Path) -> list[Entry]:
    """A small .po reader: msgctxt, msgid, msgid_plural, msgstr[n], flags; skips obsolete #~."""
    entries: list[Entry] = []
    current: Entry | None = None
    target: tuple[str, int | None] | None = None
    flags: set[str] = set()
    references: list[str] = []

    def finish() -> None:
        nonlocal current, target
        if current is not None:
            entries.append(current)
        current, target = None, None

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            finish()
            flags |= {f.strip() for f in line[2:].split(",") if f.strip()}
            continue
        if line.startswith("#"):
            if current is not None and current.msgstr:
                finish()
            if line.startswith("#:"):
                references += [ref.rsplit(":", 1)[0] for ref in line[2:].split()]
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert current is not None and target is not None, f"{path}:{lineno}: stray string"
            value = _unquote(line, path, lineno)
            name, index = target
            if name == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, name, getattr(current, name) + value)
            continue
        if keyword in ("msgctxt", "msgid") and (current is None or current.msgstr):
            finish()
            current = Entry(flags=flags, references=references, line=lineno)
            flags, references = set(), []
        assert current is not None, f"{path}:{lineno}: {keyword} outside an entry"
        value = _unquote(rest, path, lineno)
        match = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
        if match:
            target = ("msgstr", int(match.group(1)))
            current.msgstr[target[1]] = value
        elif keyword == "msgstr":
            target = ("msgstr", 0)
            current.msgstr[0] = value
        elif keyword in ("msgctxt", "msgid", "msgid_plural"):
            target = (keyword, None)
            setattr(current, keyword, value)
        else:
            raise AssertionError(f"{path}:{lineno}: unknown keyword {keyword!r}")
    finish()
    return entries


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "django.po"


def mo_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / "django.mo"


def header(entries: list[Entry]) -> tuple[Entry, dict[str, str]]:
    head = entries[0]
    assert head.msgid == "" and head.msgctxt is None, "the catalog must start with its header"
    fields = {}
    for item in head.msgstr[0].splitlines():
        key, _, value = item.partition(":")
        fields[key.strip()] = value.strip()
    return head, fields


def messages(lang: str) -> list[Entry]:
    return parse_po(po_path(lang))[1:]


def label(entry: Entry) -> str:
    ctx = f"[{entry.msgctxt}] " if entry.msgctxt is not None else ""
    return f"line {entry.line}: {ctx}{entry.msgid!r}"


def placeholders(text: str) -> Counter[str]:
    return Counter(PLACEHOLDER_RE.findall(text.replace("%%", "")))


def test_locale_dir_is_the_first_locale_path():
    assert Path(settings.LOCALE_PATHS[0]).resolve() == LOCALE_DIR.resolve()
    assert {"en", "ro", "ru"} <= {code for code, _ in settings.LANGUAGES}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_header(lang):
    head, fields = header(parse_po(po_path(lang)))
    assert "fuzzy" not in head.flags
    assert fields["Language"] == lang
    assert "charset=UTF-8" in fields["Content-Type"]
    assert fields["Plural-Forms"].startswith("nplurals=3;")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang):
    entries = messages(lang)
    assert len(entries) > 100, "the catalog looks truncated"
    untranslated = []
    for entry in entries:
        expected = 3 if entry.msgid_plural is not None else 1
        if "fuzzy" in entry.flags or len(entry.forms) != expected or not all(entry.forms):
            untranslated.append(label(entry))
    assert not untranslated, f"{lang}: untranslated or fuzzy:\n" + "\n".join(untranslated)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_duplicate_messages(lang):
    keys = Counter((e.msgctxt, e.msgid) for e in messages(lang))
    assert [k for k, n in keys.items() if n > 1] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_markup_and_newlines_are_kept(lang):
    problems = []
    for entry in messages(lang):
        sources = [entry.msgid] if entry.msgid_plural is None else [entry.msgid, entry.msgid_plural]
        for index, form in enumerate(entry.forms):
            source = sources[min(index, len(sources) - 1)]
            # A plural form matches either the singular or the plural msgid: "one ticket"
            # may drop the count that "%(count)s tickets" has.
            if placeholders(form) not in [placeholders(s) for s in sources]:
                problems.append(f"{label(entry)} form {index} placeholders: {form!r}")
            if sorted(TAG_RE.findall(form)) != sorted(TAG_RE.findall(source)):
                problems.append(f"{label(entry)} markup differs: {form!r}")
            for edge in (str.startswith, str.endswith):
                if edge(form, "\n") != edge(source, "\n"):
                    problems.append(f"{label(entry)} leading/trailing newline differs")
    assert not problems, f"{lang}:\n" + "\n".join(problems)


def test_romanian_uses_comma_below_diacritics():
    bad = [label(e) for e in messages("ro") if any(CEDILLA_RE.search(f) for f in e.forms)]
    assert not bad, "use ș/ț (comma below), not ş/ţ:\n" + "\n".join(bad)


def test_russian_is_written_in_cyrillic():
    bad = []
    for entry in messages("ru"):
        for form in entry.forms:
            letters = re.sub(r"[^A-Za-z\u0400-\u04ff]", "", PLACEHOLDER_RE.sub("", form))
            if letters and not CYRILLIC_RE.search(form) and form not in RU_LATIN_OK:
                bad.append(f"{label(entry)}: {form!r}")
    assert not bad, "looks untranslated:\n" + "\n".join(bad)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_mo_is_compiled_from_the_po(lang):
    """The committed .mo holds exactly the .po's translations (no gettext needed at runtime)."""
    with mo_path(lang).open("rb") as fp:
        compiled = gettext.GNUTranslations(fp)
    catalog = dict(compiled._catalog)  # the only way to list a .mo's keys
    _, fields = header(parse_po(po_path(lang)))
    assert compiled.info().get("plural-forms") == fields["Plural-Forms"]
    catalog.pop("", None)

    expected: dict[object, str] = {}
    for entry in messages(lang):
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural is None:
            expected[key] = entry.msgstr[0]
        else:
            for index, form in entry.msgstr.items():
                expected[(key, index)] = form

    stale = {k: (catalog.get(k), v) for k, v in expected.items() if catalog.get(k) != v}
    assert not stale, f"{lang}: .mo differs from .po (run compilemessages): {stale}"
    extra = set(catalog) - set(expected)
    assert not extra, f"{lang}: .mo has messages the .po lacks (run compilemessages): {extra}"


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(
    "msgid",
    ["Customer portal", "Sign in", "My tickets", "New ticket", "Support portal", "Romanian"],
)
def test_django_serves_the_translation(lang, msgid):
    po = {e.msgid: e.msgstr[0] for e in messages(lang) if e.msgctxt is None}
    with translation.override(lang):
        served = translation.gettext(msgid)
    assert served == po[msgid]
    assert served != msgid


# --- the glossary (docs/glossary.md) ----------------------------------------------------

WIDGET_JS = Path(__file__).resolve().parents[2] / "frontend" / "static" / "frontend" / "widget.js"
# Russian says «обращение» for a ticket; «заявка» in any form is the rejected synonym.
RU_REJECTED_TICKET_RE = re.compile(r"заявк|заявок", re.IGNORECASE)
# Catalog entries a customer reads: the widget's server texts, the portal, the e-mails.
CUSTOMER_SOURCES = (
    "chat/consumers",
    "foundation/uploads.py",
    "tickets/notifications/outbound.py",
    "tickets/portal/",
    "tickets/templates/tickets/email/",
    "tickets/templates/tickets/portal/",
)
RO_WORD_RE = re.compile(r"[a-zA-ZăâîșțĂÂÎȘȚ]+")
# Romanian second person singular: pronouns and possessives (the formal forms are
# vă/v-/dumneavoastră) ...
RO_INFORMAL_WORDS = {"tu", "te", "ți", "ție", "tău", "ta", "tale", "tăi"}
# ... and singular commands that open a text addressed to the customer ("Scrie un mesaj",
# formal "Scrieți un mesaj"). First word only: "Se trimite" is not a command.
RO_INFORMAL_COMMANDS = {
    "adaugă",
    "alege",
    "anulează",
    "apasă",
    "atașează",
    "caută",
    "completează",
    "conectează",
    "continuă",
    "deschide",
    "discută",
    "introdu",
    "începe",
    "încearcă",
    "încheie",
    "închide",
    "lasă",
    "minimizează",
    "obține",
    "răspunde",
    "salvează",
    "scrie",
    "selectează",
    "trimite",
    "urmărește",
    "verifică",
}


def widget_strings(locale: str) -> list[str]:
    source = WIDGET_JS.read_text(encoding="utf-8")
    table = re.search(rf"\n    {locale}: \[(.*?)\n    \]", source, re.S)
    assert table, f"widget.js has no {locale} table"
    return re.findall(r'"((?:[^"\\]|\\.)*)"', table.group(1))


def informal_romanian(text: str) -> list[str]:
    # A placeholder stands for a word: "{name} scrie…" is not a command.
    words = [w.lower() for w in RO_WORD_RE.findall(PLACEHOLDER_RE.sub("X", text))]
    found = [words[0]] if words and words[0] in RO_INFORMAL_COMMANDS else []
    return found + [w for w in words if w in RO_INFORMAL_WORDS]


def is_customer_facing(entry: Entry) -> bool:
    return any(ref.startswith(CUSTOMER_SOURCES) for ref in entry.references)


def test_the_glossary_is_written_down():
    glossary = (Path(__file__).resolve().parents[2] / "docs" / "glossary.md").read_text("utf-8")
    for term in ("tichet", "обращение", "заявка", "dumneavoastră"):
        assert term in glossary


def test_russian_says_obrashchenie_for_a_ticket_never_zayavka():
    bad = [
        f"{label(e)}: {f!r}"
        for e in messages("ru")
        for f in e.forms
        if RU_REJECTED_TICKET_RE.search(f)
    ]
    bad += [
        f"widget.js: {text!r}"
        for text in widget_strings("ru")
        if RU_REJECTED_TICKET_RE.search(text)
    ]
    assert not bad, "«заявка» is not our word for a ticket (docs/glossary.md):\n" + "\n".join(bad)


def test_the_catalog_knows_which_strings_customers_read():
    # The register check below is only as good as this split.
    customer = [e.msgid for e in messages("ro") if is_customer_facing(e)]
    assert {"My tickets", "New ticket", "Send me a link"} <= set(customer)
    assert "Canned replies" not in customer


def test_romanian_speaks_formally_to_customers():
    bad = [
        f"{label(e)}: {form!r} ({', '.join(informal_romanian(form))})"
        for e in messages("ro")
        if is_customer_facing(e)
        for form in e.forms
        if informal_romanian(form)
    ]
    bad += [
        f"widget.js: {text!r} ({', '.join(informal_romanian(text))})"
        for text in widget_strings("ro")
        if informal_romanian(text)
    ]
    assert not bad, "customers are addressed with dumneavoastră (docs/glossary.md):\n" + "\n".join(
        bad
    )


@pytest.mark.parametrize(
    ("text", "informal"),
    [
        ("Scrie un mesaj…", ["scrie"]),
        ("Tu", ["tu"]),
        ("Verifică-ți e-mailul", ["verifică", "ți"]),
        ("Te rugăm să aștepți", ["te"]),
        ("Scrieți un mesaj…", []),
        ("Se trimite", []),
        ("Verificați-vă e-mailul", []),
        ("Urmăriți-l în portal", []),
        ("Tichetul dumneavoastră %(number)s", []),
    ],
)
def test_the_register_check_tells_formal_from_informal(text, informal):
    assert informal_romanian(text) == informal
