"""Thumbnails of attached images: real images of each format, and every way an image can lie."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin

from foundation.thumbnails import (
    MAX_SOURCE_PIXELS,
    THUMBNAIL_BOX,
    ThumbnailRefused,
    make_thumbnail,
    store_thumbnail,
)
from foundation.uploads import check_upload
from tests import attachment_files as files

FORMATS = [
    ("PNG", "image/png"),
    ("JPEG", "image/jpeg"),
    ("GIF", "image/gif"),
    ("WEBP", "image/webp"),
]


def encoded(fmt: str, size=(800, 600), mode="RGB", **options) -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, (200, 30, 30) if mode == "RGB" else (200, 30, 30, 128)).save(
        out, format=fmt, **options
    )
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_declaring(width: int, height: int) -> bytes:
    """A well-formed PNG header for a huge image, with a few bytes of pixels: a bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(("fmt", "content_type"), FORMATS)
def test_it_makes_a_small_webp_of_each_raster_format(fmt, content_type):
    thumbnail = opened(make_thumbnail(io.BytesIO(encoded(fmt)), content_type))
    assert thumbnail.format == "WEBP"
    assert thumbnail.size == (320, 240)  # the aspect ratio kept inside the box
    assert thumbnail.getpixel((10, 10))[0] > 150  # still the red picture


def test_a_small_image_is_not_enlarged():
    thumbnail = opened(make_thumbnail(io.BytesIO(files.png(40, 20)), "image/png"))
    assert thumbnail.size == (40, 20)


def test_transparency_survives():
    data = encoded("PNG", mode="RGBA")
    thumbnail = opened(make_thumbnail(io.BytesIO(data), "image/png"))
    assert thumbnail.mode == "RGBA" and thumbnail.getpixel((5, 5))[3] < 255


def test_an_animated_gif_gives_its_first_frame():
    frames = [Image.new("RGB", (64, 64), color) for color in ("blue", "red")]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:])
    thumbnail = opened(make_thumbnail(io.BytesIO(out.getvalue()), "image/gif"))
    red, _green, blue = thumbnail.convert("RGB").getpixel((5, 5))
    assert blue > red


def test_a_truncated_image_is_refused():
    data = encoded("PNG")
    for cut in (len(data) // 2, 60):
        with pytest.raises(ThumbnailRefused):
            make_thumbnail(io.BytesIO(data[:cut]), "image/png")
    jpeg = encoded("JPEG")
    with pytest.raises(ThumbnailRefused):
        make_thumbnail(io.BytesIO(jpeg[: len(jpeg) // 3]), "image/jpeg")


def test_a_corrupt_image_is_refused():
    data = bytearray(encoded("PNG"))
    data[40:48] = b"\xde\xad\xbe\xef\xde\xad\xbe\xef"  # breaks a chunk's checksum
    with pytest.raises(ThumbnailRefused):
        make_thumbnail(io.BytesIO(bytes(data)), "image/png")


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded():
    # 64 megapixels: under Pillow's own limit, over ours.
    assert MAX_SOURCE_PIXELS < 8000 * 8000
    with pytest.raises(ThumbnailRefused, match="8000x8000"):
        make_thumbnail(io.BytesIO(png_declaring(8000, 8000)), "image/png")
    # Ten gigapixels: Pillow refuses it at open.
    with pytest.raises(ThumbnailRefused):
        make_thumbnail(io.BytesIO(png_declaring(100_000, 100_000)), "image/png")


def test_a_non_image_with_an_image_type_is_refused():
    for data in (files.PDF, files.TEXT, b"\x89PNG\r\n\x1a\n" + b"not really" * 20):
        with pytest.raises(ThumbnailRefused):
            make_thumbnail(io.BytesIO(data), "image/png")


def test_the_decoder_must_agree_with_the_checked_type():
    with pytest.raises(ThumbnailRefused, match="GIF"):
        make_thumbnail(io.BytesIO(encoded("GIF")), "image/png")
    with pytest.raises(ThumbnailRefused):
        make_thumbnail(io.BytesIO(files.PDF), "application/pdf")


def test_metadata_is_stripped_and_the_orientation_applied():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    exif[0x010F] = "SecretCam"  # camera make
    exif[0xA431] = "SERIAL-12345"  # body serial number
    icc = b"\x00" * 128
    out = io.BytesIO()
    Image.new("RGB", (400, 200), "red").save(
        out, format="JPEG", exif=exif.tobytes(), icc_profile=icc, comment=b"gps 44.43,26.10"
    )
    source = out.getvalue()
    assert b"SERIAL-12345" in source
    data = make_thumbnail(io.BytesIO(source), "image/jpeg")
    assert b"SERIAL-12345" not in data and b"SecretCam" not in data and b"gps" not in data
    thumbnail = opened(data)
    assert not thumbnail.info.get("exif") and not thumbnail.info.get("icc_profile")
    assert thumbnail.size == (160, 320)  # upright: the portrait the camera meant

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "home address: Strada X 1")
    png = encoded("PNG", pnginfo=text)
    assert b"home address" in png
    assert b"home address" not in make_thumbnail(io.BytesIO(png), "image/png")


def test_a_refused_image_is_still_an_attachment_without_a_thumbnail(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    broken = check_upload(io.BytesIO(png_declaring(8000, 8000)), filename="big.png")
    assert broken.content_type == "image/png"  # the upload checks pass: it is attached
    assert store_thumbnail(broken, "attachments/chat/00/big") == ""
    pdf = check_upload(io.BytesIO(files.PDF), filename="manual.pdf")
    assert store_thumbnail(pdf, "attachments/chat/00/manual") == ""
    good = check_upload(io.BytesIO(encoded("PNG")), filename="ok.png")
    name = store_thumbnail(good, "attachments/chat/00/ok")
    assert name == "attachments/chat/00/ok.thumb"
    assert opened((tmp_path / name).read_bytes()).size[0] <= THUMBNAIL_BOX[0]
