"""Uploaded files: what they really are, where they are kept, how they are served.

Chat and ticket attachments share these rules (both apps import this module):

- **Type by content.** The first bytes decide the type (magic numbers), never
  the client's Content-Type; the file name's extension must agree with it.
  Allowed: PNG, JPEG, GIF, WebP, PDF, ZIP, DOCX/XLSX (a ZIP with their
  parts, no macros), UTF-8 plain text and CSV. Markup (HTML, SVG, XML),
  scripts with a `#!` line and everything binary that is not on the list
  (executables included) is refused, whatever it is called.
- **Size.** 1 byte to `CHATPORTAL_ATTACHMENT_MAX_BYTES` (default 10 MiB).
- **Storage.** Django's default storage (a FileSystemStorage under
  `CHATPORTAL_DATA_DIR/media`) under a random name: the client's file name
  never reaches the disk, so no traversal, no overwrite, no guessing.
- **Display name.** The client's name without directories, control or
  reserved characters, at most 150 characters, extension kept.
- **Serving.** `Content-Disposition: attachment` (inline only for raster
  images), `X-Content-Type-Options: nosniff`, the checked type, and
  `Content-Security-Policy: default-src 'none'; sandbox`, so even a file a
  browser would misread cannot run anything on our origin.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.http import FileResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from foundation.errors import ClientError

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_FILENAME_CHARS = 150
# How much of the file is read to decide its type (text is checked whole, in chunks).
SNIFF_BYTES = 4096
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})

# Detected type -> the extensions a file of that type may carry.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg", ".jfif"),
    "image/gif": (".gif",),
    "image/webp": (".webp",),
    "application/pdf": (".pdf",),
    "application/zip": (".zip",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (".docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (".xlsx",),
    "text/plain": (".txt", ".log", ".text", ".md"),
    "text/csv": (".csv",),
}
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Text a browser would run as a page or an image with scripts, wherever it
# sits in the first bytes browsers sniff (text starting with "<" or "#!" is
# refused outright: no plain text or CSV a customer sends begins like that).
_MARKUP_ANYWHERE = (
    b"<script",
    b"<svg",
    b"<html",
    b"<!doctype",
    b"<iframe",
    b"<?xml",
    b"<body",
    b"<object",
    b"<embed",
    b"javascript:",
)
_UTF8_BOM = b"\xef\xbb\xbf"


class UploadRefused(ClientError, ValueError):
    """The file may not be attached; `detail` is ours (translated), safe to show.

    `status` and `code`: 400 `invalid`, 413 `too_large` or 415 `unsupported_media_type`.
    """


@dataclass(frozen=True)
class CheckedUpload:
    """A file that passed the checks, ready to store."""

    filename: str
    content_type: str
    size: int
    file: IO[bytes]


def max_upload_bytes() -> int:
    return int(getattr(settings, "CHATPORTAL_ATTACHMENT_MAX_BYTES", DEFAULT_MAX_BYTES))


# --- file names -------------------------------------------------------------------------


def sanitize_filename(raw: object) -> str:
    """The client's file name made safe to show and to put in a header."""
    name = unicodedata.normalize("NFC", str(raw or ""))
    # Only the last path component, whichever separator the client's system uses.
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category[0] in {"C", "Z"} and char != " ":
            continue  # control, format (bidi overrides), separators other than space
        if char in "<>:\"|?*;=`$%&{}[]'":
            kept.append("_")
            continue
        kept.append(char)
    name = " ".join("".join(kept).split()).strip(" .")
    if not name or set(name) <= {"_", "."}:
        return "attachment"
    if len(name) > MAX_FILENAME_CHARS:
        stem, ext = os.path.splitext(name)
        ext = ext[:16]
        name = stem[: MAX_FILENAME_CHARS - len(ext)].rstrip(" .") + ext
    return name


def _extension(filename: str) -> str:
    return os.path.splitext(filename)[1].lower()


# --- content ---------------------------------------------------------------------------


def _zip_kind(file: IO[bytes]) -> str:
    file.seek(0)
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UploadRefused(_("The file is a damaged ZIP archive.")) from None
    finally:
        file.seek(0)
    lowered = {n.lower() for n in names}
    if any(n.endswith("vbaproject.bin") for n in lowered):
        raise UploadRefused(_("Office documents with macros are not accepted."))
    if "[content_types].xml" in lowered:
        if "word/document.xml" in lowered:
            return DOCX
        if "xl/workbook.xml" in lowered:
            return XLSX
    return "application/zip"


def _is_text(file: IO[bytes]) -> bool:
    """Whole-file UTF-8 with no NUL and few control characters."""
    file.seek(0)
    incremental = codecs.getincrementaldecoder("utf-8")(errors="strict")
    first = True
    try:
        while chunk := file.read(64 * 1024):
            if first:
                chunk = chunk.removeprefix(_UTF8_BOM)
                first = False
            if b"\x00" in chunk:
                return False
            text = incremental.decode(chunk)
            if any(ord(c) < 32 and c not in "\t\n\r\f" for c in text):
                return False
        incremental.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    finally:
        file.seek(0)
    return True


def _looks_like_markup_or_program(head: bytes) -> bool:
    start = head.removeprefix(_UTF8_BOM).lstrip().lower()
    if start.startswith((b"#!", b"<")):
        return True
    lowered = head.lower()
    return any(marker in lowered for marker in _MARKUP_ANYWHERE)


def detect_content_type(file: IO[bytes], filename: str) -> str:
    """The allowed type the bytes are, or UploadRefused."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(file)
    if _is_text(file):
        if _looks_like_markup_or_program(head):
            raise UploadRefused(
                _("Web pages, images in SVG, scripts and markup files cannot be attached."),
                status=415,
                code="unsupported_media_type",
            )
        return "text/csv" if _extension(filename) == ".csv" else "text/plain"
    raise UploadRefused(
        _(
            "This type of file cannot be attached. Allowed: images (PNG, JPEG, GIF, WebP), "
            "PDF, text, CSV, ZIP, Word and Excel documents."
        ),
        status=415,
        code="unsupported_media_type",
    )


def check_upload(file: IO[bytes], *, filename: object, size: int | None = None) -> CheckedUpload:
    """Size, type by content, and a name that agrees with the type."""
    if size is None:
        file.seek(0, os.SEEK_END)
        size = file.tell()
        file.seek(0)
    if size <= 0:
        raise UploadRefused(_("The file is empty."))
    limit = max_upload_bytes()
    if size > limit:
        raise UploadRefused(
            _("The file is larger than %(mb)s MB.") % {"mb": _megabytes(limit)},
            status=413,
            code="too_large",
        )
    name = sanitize_filename(filename)
    content_type = detect_content_type(file, name)
    allowed = EXTENSIONS[content_type]
    extension = _extension(name)
    if not extension:
        name = (name + allowed[0])[-MAX_FILENAME_CHARS:]
    elif extension not in allowed:
        raise UploadRefused(
            _("The file's content does not match its name (%(ext)s).") % {"ext": extension[:16]},
            status=415,
            code="unsupported_media_type",
        )
    return CheckedUpload(filename=name, content_type=content_type, size=size, file=file)


def _megabytes(limit: int) -> str:
    value = limit / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 else f"{value:.2f}"


# --- storage and serving -------------------------------------------------------------


def new_download_token() -> str:
    # 192 random bits, URL-safe: what a download link carries besides the access check.
    return secrets.token_urlsafe(24)


def store_upload(upload: CheckedUpload, *, area: str) -> str:
    """Save the bytes under a random name; returns the storage name.

    `area` (`chat`, `tickets`, `kb`) is a fixed folder of ours, never client input.
    """
    if area not in {"chat", "tickets", "kb"}:
        raise ValueError(area)
    upload.file.seek(0)
    name = f"attachments/{area}/{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    return default_storage.save(name, File(upload.file))


def discard_stored(name: str) -> None:
    """Best effort: a file whose database row never committed."""
    with contextlib.suppress(OSError):
        default_storage.delete(name)


def attachment_response(
    storage_name: str, *, filename: str, content_type: str, size: int | None = None
) -> FileResponse:
    """The stored file with the headers that keep it from running as a page.

    FileNotFoundError when the bytes are gone (an erased attachment keeps its
    row with an empty storage name): callers answer 404.
    """
    if not storage_name:
        raise FileNotFoundError("the attachment's file was erased")
    handle = default_storage.open(storage_name, "rb")
    inline = content_type in INLINE_TYPES
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(not inline, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Frame-Options"] = "DENY"
    if size is not None:
        response["Content-Length"] = str(size)
    return response


def upload_from_request_file(uploaded: Any) -> CheckedUpload:
    """A Django `UploadedFile` checked (reads from its temp file or memory)."""
    return check_upload(uploaded.file, filename=uploaded.name, size=uploaded.size)
