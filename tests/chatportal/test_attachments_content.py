"""The content checks every attachment passes (foundation/uploads.py): type by bytes, not by name."""

from __future__ import annotations

import io

import pytest

from foundation.uploads import (
    DOCX as DOCX_TYPE,
)
from foundation.uploads import (
    XLSX as XLSX_TYPE,
)
from foundation.uploads import (
    UploadRefused,
    attachment_response,
    check_upload,
    sanitize_filename,
    store_upload,
)
from tests import attachment_files as files


def check(data: bytes, name: str):
    return check_upload(io.BytesIO(data), filename=name)


@pytest.mark.parametrize(
    ("data", "name", "content_type"),
    [
        (files.png(), "screen.png", "image/png"),
        (files.JPEG, "photo.JPG", "image/jpeg"),
        (files.GIF, "anim.gif", "image/gif"),
        (files.WEBP, "shot.webp", "image/webp"),
        (files.PDF, "invoice.pdf", "application/pdf"),
        (files.TEXT, "error-log.txt", "text/plain"),
        (files.CSV, "assets.csv", "text/csv"),
        (files.ZIP, "logs.zip", "application/zip"),
        (files.DOCX, "report.docx", DOCX_TYPE),
        (files.XLSX, "sheet.xlsx", XLSX_TYPE),
    ],
)
def test_it_recognises_each_allowed_type_by_its_bytes(data, name, content_type):
    checked = check(data, name)
    assert checked.content_type == content_type
    assert checked.size == len(data)
    assert checked.filename == name


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (files.HTML, "page.html"),
        (files.HTML, "innocent.png"),  # html renamed .png
        (files.HTML, "notes.txt"),
        (files.SVG, "logo.svg"),
        (files.SVG, "logo.png"),
        (files.HTML_AFTER_TEXT, "readme.txt"),
        (files.SHELL_SCRIPT, "run.txt"),
        (files.EXE, "setup.exe"),
        (files.EXE, "holiday.jpg"),  # an executable renamed as a photo
        (files.ELF, "tool.pdf"),
        (b"\x00\x01\x02binary", "data.txt"),
        ("plain text".encode("utf-16"), "utf16.txt"),
        (files.DOCM, "invoice.docx"),  # macros inside a docx
    ],
)
def test_it_refuses_markup_programs_and_unknown_binaries_whatever_their_name(data, name):
    with pytest.raises(UploadRefused) as refused:
        check(data, name)
    assert refused.value.status in {400, 415}


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (files.png(), "report.pdf"),  # a real PNG claiming to be a PDF
        (files.PDF, "scan.png"),
        (files.TEXT, "notes.js"),
        (files.TEXT, "page.html"),
        (files.ZIP, "report.docx"),  # a plain zip is not a Word document
        (files.DOCX, "report.zip"),
    ],
)
def test_it_refuses_a_name_that_does_not_match_the_content(data, name):
    with pytest.raises(UploadRefused) as refused:
        check(data, name)
    assert refused.value.code == "unsupported_media_type"


def test_it_adds_the_extension_of_the_detected_type_to_a_bare_name():
    assert check(files.png(), "screenshot").filename == "screenshot.png"


def test_it_refuses_an_empty_file():
    with pytest.raises(UploadRefused) as refused:
        check(b"", "empty.txt")
    assert refused.value.status == 400


def test_it_refuses_a_file_over_the_limit(settings):
    settings.CHATPORTAL_ATTACHMENT_MAX_BYTES = 1024
    check(b"a" * 1024, "exactly.txt")
    with pytest.raises(UploadRefused) as refused:
        check(b"a" * 1025, "big.txt")
    assert refused.value.status == 413
    assert refused.value.code == "too_large"


def test_it_refuses_a_damaged_zip():
    with pytest.raises(UploadRefused):
        check(b"PK\x03\x04" + b"\x00" * 40, "broken.zip")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/var/lib/chatportal/secret_key", "secret_key"),
        ("....", "attachment"),
        ("", "attachment"),
        (None, "attachment"),
        ("factură\u202egpj.exe", "facturăgpj.exe"),  # right-to-left override dropped
        ("a\x00b\nc.txt", "abc.txt"),
        ('<img src=x onerror="alert(1)">.png', "_img src_x onerror__alert(1)__.png"),
        ("Отчёт за ноябрь.pdf", "Отчёт за ноябрь.pdf"),
        ("Raport ședință.docx", "Raport ședință.docx"),
    ],
)
def test_it_keeps_only_a_safe_display_name(raw, clean):
    assert sanitize_filename(raw) == clean


def test_it_shortens_long_names_but_keeps_the_extension():
    name = sanitize_filename("x" * 500 + ".pdf")
    assert len(name) == 150
    assert name.endswith(".pdf")


def test_it_stores_under_a_random_name_never_the_clients(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    checked = check(files.PDF, "../../../evil.pdf")
    first = store_upload(checked, area="chat")
    second = store_upload(checked, area="chat")
    assert first != second
    assert "evil" not in first and ".." not in first
    stored = (tmp_path / first).resolve()
    assert stored.is_relative_to(tmp_path.resolve())
    assert stored.read_bytes() == files.PDF
    with pytest.raises(ValueError):
        store_upload(checked, area="../etc")


def test_it_serves_documents_as_downloads_with_safe_headers(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    stored = store_upload(check(files.PDF, "factură.pdf"), area="tickets")
    response = attachment_response(stored, filename="factură.pdf", content_type="application/pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''factur%C4%83.pdf" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == files.PDF
    response.file_to_stream.close()  # not close(): that signals request_finished


def test_it_shows_raster_images_inline_but_still_sandboxed(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    stored = store_upload(check(files.png(), "screen.png"), area="chat")
    response = attachment_response(stored, filename="screen.png", content_type="image/png")
    assert response["Content-Disposition"].startswith("inline;")
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    response.file_to_stream.close()  # not close(): that signals request_finished
