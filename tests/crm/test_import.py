from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from chatportal.cli import main as chatportal_main
from crm.models import Asset, Contact, ContactPhone, Organization, SupportContract

CSV_MIXED = """type,external_id,serial_number,name,organization,emails,phones,product,plan,starts_on,ends_on,price
organization,org-9,,Termo Vest SA,,,,,,,,
contact,ion-1,,Ion Vasile,org-9,ion@termovest.example;ion@home.example,0744 111 222;+40 21 300 4000,,,,,
asset,,TV-24-0001,,org-9,,,Boiler TV-24,,,,
contract,k-77,,"Boilers
2026",org-9,,,,Gold 24x7,2026-01-01,2026-12-31,4800.50
"""

CSV_BAD = """external_id,name,organization,phones,emails
ok-1,Ana Pop,,0744 000 111,
bad-1,Bogdan,nobody,,
bad-2,,,,
ok-2,Carmen,,,carmen@example.com
bad-3,Dan,,12,
"""

JSONL_CONTACTS = "\n".join(
    json.dumps(record)
    for record in [
        {"type": "organization", "external_id": "org-9", "name": "Termo Vest SA"},
        {
            "type": "contact",
            "external_id": "ion-1",
            "name": "Ion Vasile",
            "organization": "org-9",
            "phones": [{"number": "0744 111 222", "label": "mobile"}],
        },
    ]
)


def run(tmp_path, name: str, content: str, *args: str) -> tuple[str, str, Exception | None]:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    raised = None
    try:
        call_command("import_crm", str(path), *args, stdout=out, stderr=err)
    except CommandError as exc:
        raised = exc
    return out.getvalue(), err.getvalue(), raised


def snapshot() -> tuple[int, ...]:
    return (
        Organization.objects.count(),
        Contact.objects.count(),
        ContactPhone.objects.count(),
        Asset.objects.count(),
        SupportContract.objects.count(),
    )


def test_a_mixed_csv_file_is_imported_in_order_with_a_type_column(demo, tmp_path):
    out, err, raised = run(tmp_path, "crm.csv", CSV_MIXED)
    assert raised is None, err
    assert out.strip() == "4 created, 0 updated, 0 unchanged, 0 failed"
    contact = Contact.objects.get(external_id="ion-1")
    assert contact.organization.name == "Termo Vest SA"
    assert sorted(contact.phones.values_list("number", flat=True)) == [
        "+40213004000",
        "+40744111222",
    ]
    assert Asset.objects.get(serial_number="TV-24-0001").organization.external_id == "org-9"
    assert SupportContract.objects.get(external_id="k-77").name == "Boilers\n2026"


def test_running_the_same_file_again_changes_nothing(demo, tmp_path):
    run(tmp_path, "crm.csv", CSV_MIXED)
    before = snapshot()
    out, _err, raised = run(tmp_path, "crm.csv", CSV_MIXED)
    assert raised is None
    assert out.strip() == "0 created, 0 updated, 4 unchanged, 0 failed"
    assert snapshot() == before


def test_a_dry_run_reports_what_it_would_do_and_writes_nothing(demo, tmp_path):
    before = snapshot()
    out, _err, raised = run(tmp_path, "crm.csv", CSV_MIXED, "--dry-run")
    assert raised is None
    # The contact finds the organization the same dry run "created" one row above.
    assert out.strip() == (
        "4 created, 0 updated, 0 unchanged, 0 failed (dry run: nothing was written)"
    )
    assert snapshot() == before


def test_each_bad_row_is_reported_with_its_line_and_field_and_the_good_rows_are_written(
    demo, tmp_path
):
    out, err, raised = run(tmp_path, "contacts.csv", CSV_BAD, "--type", "contact")
    assert isinstance(raised, CommandError) and "3 of 5 rows failed" in str(raised)
    lines = err.strip().splitlines()
    assert lines[0] == "line 3: organization: no organization has the external id 'nobody'"
    assert lines[1].startswith("line 4: name: ")
    assert lines[2].startswith("line 6: phones: ")
    assert len(lines) == 3
    assert out.strip() == "2 created, 0 updated, 0 unchanged, 3 failed"
    assert set(
        Contact.objects.filter(
            external_id__in=["ok-1", "ok-2", "bad-1", "bad-2", "bad-3"]
        ).values_list("external_id", flat=True)
    ) == {"ok-1", "ok-2"}


def test_all_or_nothing_writes_nothing_when_one_row_fails(demo, tmp_path):
    before = snapshot()
    _out, _err, raised = run(
        tmp_path, "contacts.csv", CSV_BAD, "--type", "contact", "--all-or-nothing"
    )
    assert raised is not None
    assert snapshot() == before


def test_json_lines_are_imported_with_phone_labels_and_reported_per_line(demo, tmp_path):
    content = JSONL_CONTACTS + "\n\n{not json\n" + json.dumps({"type": "robot", "external_id": "r"})
    out, err, raised = run(tmp_path, "crm.jsonl", content)
    assert raised is not None
    assert out.strip() == "2 created, 0 updated, 0 unchanged, 2 failed"
    lines = err.strip().splitlines()
    assert lines[0].startswith("line 4: record: not valid JSON")
    assert lines[1].startswith("line 5: type: must be one of")
    phone = Contact.objects.get(external_id="ion-1").phones.get()
    assert (phone.number, phone.label) == ("+40744111222", "mobile")
    out, _err, _raised = run(tmp_path, "again.jsonl", JSONL_CONTACTS)
    assert out.strip() == "0 created, 0 updated, 2 unchanged, 0 failed"


def test_a_file_of_unknown_format_is_refused(demo, tmp_path):
    _out, _err, raised = run(tmp_path, "crm.txt", "x")
    assert raised is not None and "--format" in str(raised)


def test_the_chatportal_command_has_import_crm(demo, tmp_path, capsys):
    path = tmp_path / "orgs.jsonl"
    path.write_text(json.dumps({"external_id": "org-9", "name": "Termo Vest SA"}) + "\n")
    chatportal_main(["chatportal", "import-crm", str(path), "--type", "organization"])
    assert "1 created" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exited:
        chatportal_main(["chatportal", "import-crm", str(tmp_path / "missing.csv")])
    assert exited.value.code == 1


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_on_a_terminal_only():
    from chatportal.management.commands.import_crm import ProgressBar

    terminal = FakeTerminal()
    bar = ProgressBar(120, terminal)
    for done in range(1, 121):
        bar(done)
    bar.close()
    assert terminal.getvalue().endswith("\r[" + "#" * 30 + "] 120/120\n")
    assert terminal.getvalue().count("\r") == 3  # at 50, 100 and the end
    piped = io.StringIO()
    quiet = ProgressBar(120, piped)
    quiet(120)
    quiet.close()
    assert piped.getvalue() == ""


def test_the_example_in_the_operations_docs_imports(demo, tmp_path):
    from pathlib import Path

    docs = (Path(__file__).resolve().parents[2] / "docs" / "operations.md").read_text()
    example = docs.split("```csv\n", 1)[1].split("```", 1)[0]
    out, err, raised = run(tmp_path, "example.csv", example)
    assert raised is None, err
    assert out.strip().endswith("0 failed")
    asset = Asset.objects.get(serial_number="RZA-2024-0001")
    assert asset.organization.external_id == "org-17"
    assert SupportContract.objects.get(external_id="k-2026-17").plan.name == "Gold 24x7"
