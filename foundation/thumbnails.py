"""Thumbnails of attached raster images, made once when the file is attached.

Chat and ticket attachments share these rules (both apps import this module):

- **Only what `foundation.uploads` already typed by content** as PNG, JPEG,
  GIF or WebP is tried, and Pillow must agree: the decoder's own format has
  to be that same type (a PDF renamed `.png` never gets this far; a PNG that
  Pillow reads as something else is refused).
- **Verified, then decoded from scratch.** `Image.verify()` checks the file's
  structure (and leaves the image unusable), so the file is opened again to
  decode it: a truncated or corrupt image is refused, never half-drawn.
- **Decompression bombs.** The header's dimensions are checked before any
  pixel is decoded (at most `MAX_SOURCE_PIXELS`, far below Pillow's own
  limit), and Pillow's bomb warning is an error here.
- **Nothing of the original is kept but pixels.** The orientation is applied,
  then the pixels are copied into a new image and encoded as WebP: EXIF (GPS,
  camera serials), ICC, XMP and comments stay behind. Animated GIF/WebP give
  their first frame.
- **Made at upload, stored next to the original** (`<original>.thumb`): a
  page listing twenty images costs twenty small reads, not twenty decodes,
  and a file Pillow refuses is known at once (its event has no
  `thumbnail_url`, so every screen shows the plain link). Served with the
  original's access check, by the same endpoints (`…/thumbnail`).

A refusal is never an error for the upload: the file is still attached.
"""

from __future__ import annotations

import io
import logging
import os
import warnings
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps, UnidentifiedImageError

from foundation.uploads import INLINE_TYPES, CheckedUpload

logger = logging.getLogger(__name__)

THUMBNAIL_BOX = (320, 320)
THUMBNAIL_CONTENT_TYPE = "image/webp"
# 40 megapixels: any phone photo or screenshot; a 10 MB file claiming more is a bomb.
MAX_SOURCE_PIXELS = 40_000_000
PILLOW_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
THUMBNAIL_SUFFIX = ".thumb"


class ThumbnailRefused(ValueError):
    """The image cannot be shown as a thumbnail (the reason is for the log, never the client)."""


def _open(file: IO[bytes], content_type: str) -> Image.Image:
    file.seek(0)
    image = Image.open(file, formats=list(PILLOW_FORMATS))
    if PILLOW_FORMATS.get(image.format or "") != content_type:
        raise ThumbnailRefused(f"decoded as {image.format}, typed as {content_type}")
    width, height = image.size
    if width < 1 or height < 1 or width * height > MAX_SOURCE_PIXELS:
        raise ThumbnailRefused(f"{width}x{height} pixels")
    return image


def make_thumbnail(file: IO[bytes], content_type: str) -> bytes:
    """WebP bytes of the image scaled into THUMBNAIL_BOX, or ThumbnailRefused."""
    if content_type not in INLINE_TYPES:
        raise ThumbnailRefused(f"not a raster image type: {content_type}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with _open(file, content_type) as image:
                image.verify()
            with _open(file, content_type) as image:
                image.seek(0)
                image.draft("RGB", THUMBNAIL_BOX)  # JPEG: decode at a reduced scale
                image.load()
                upright = ImageOps.exif_transpose(image)
                mode = "RGBA" if _has_alpha(upright) else "RGB"
                pixels = upright.convert(mode)
                pixels.thumbnail(THUMBNAIL_BOX, Image.Resampling.LANCZOS)
                # A fresh image carries no `info` (EXIF, ICC, XMP, comments) into the encoder.
                clean = Image.new(mode, pixels.size)
                clean.paste(pixels)
                out = io.BytesIO()
                clean.save(out, format="WEBP", quality=80, method=4)
    except ThumbnailRefused:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,  # what verify() raises for a broken PNG chunk
        ValueError,
        EOFError,
        MemoryError,
    ) as exc:
        raise ThumbnailRefused(f"{type(exc).__name__}: {exc}") from None
    finally:
        file.seek(0)
    return out.getvalue()


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in {"RGBA", "LA", "PA"} or (
        image.mode == "P" and "transparency" in image.info
    )


def thumbnail_filename(filename: str) -> str:
    """What a saved thumbnail is called: the file's name, marked, with the WebP extension."""
    stem = os.path.splitext(filename)[0] or "attachment"
    return f"{stem}-thumbnail.webp"


def store_thumbnail(upload: CheckedUpload, original_name: str) -> str:
    """The thumbnail stored next to the original; its storage name, or "" for no thumbnail."""
    if upload.content_type not in INLINE_TYPES:
        return ""
    try:
        data = make_thumbnail(upload.file, upload.content_type)
    except ThumbnailRefused as exc:
        logger.info("no thumbnail for an attached %s: %s", upload.content_type, exc)
        return ""
    return default_storage.save(original_name + THUMBNAIL_SUFFIX, ContentFile(data))
