"""Time (and peak memory) to make one attachment thumbnail, per format and size.

What an upload of an image costs on top of storing it: verify, decode, scale
and re-encode (foundation.thumbnails.make_thumbnail), run in-process. The
pictures are photo-like (smooth gradients with sensor noise, so JPEG and
WebP do not compress them to nothing). Prints JSON, one row per case, with
the median of --repeat runs and the process's peak RSS so far (cases run
from the smallest decode upwards is not guaranteed: read it as an upper bound).

    .venv/bin/python bench/thumbnails.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import io
import json
import resource
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

CASES = [
    ("JPEG", "image/jpeg", (4000, 3000)),  # a 12 MP phone photo
    ("JPEG", "image/jpeg", (1600, 1200)),
    ("PNG", "image/png", (1920, 1080)),  # a full-HD screenshot
    ("PNG", "image/png", (4000, 3000)),
    ("WEBP", "image/webp", (4000, 3000)),
    ("GIF", "image/gif", (800, 600)),
]


def picture(fmt: str, size: tuple[int, int]) -> bytes:
    from PIL import Image

    base = Image.linear_gradient("L").resize(size).convert("RGB")
    noise = Image.effect_noise(size, 24).convert("RGB")
    image = Image.blend(base, noise, 0.3)
    out = io.BytesIO()
    options = {"quality": 88} if fmt in {"JPEG", "WEBP"} else {}
    image.save(out, format=fmt, **options)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")
    import django

    django.setup()
    from foundation.thumbnails import make_thumbnail

    rows = []
    for fmt, content_type, size in CASES:
        data = picture(fmt, size)
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            thumbnail = make_thumbnail(io.BytesIO(data), content_type)
            times.append(time.perf_counter() - started)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        rows.append(
            {
                "format": fmt,
                "pixels": f"{size[0]}x{size[1]}",
                "file_kb": round(len(data) / 1024),
                "thumbnail_kb": round(len(thumbnail) / 1024, 1),
                "median_ms": round(statistics.median(times) * 1000),
                "max_ms": round(max(times) * 1000),
                "process_peak_rss_mb": round(peak / 1024),
            }
        )
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
