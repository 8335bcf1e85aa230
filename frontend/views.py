from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import rjsmin
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import etag, require_GET

# Host pages reference /widget.js without a version, so a short cache lets a
# release reach visitors within minutes; the ETag makes revalidation cheap.
WIDGET_MAX_AGE_S = 300


@require_GET
def home(request):
    return render(request, "frontend/home.html")


def minify_widget(source: str) -> str:
    """The widget as browsers get it: a third smaller, its `/*!` header kept."""
    return rjsmin.jsmin(source, keep_bang_comments=True)


@lru_cache(maxsize=1)
def _widget_source_cached(path: str, mtime_ns: int) -> tuple[bytes, str]:
    body = minify_widget(Path(path).read_text(encoding="utf-8")).encode("utf-8")
    return body, hashlib.sha256(body).hexdigest()[:32]


def widget_source() -> tuple[bytes, str]:
    """The minified widget script and its ETag, redone only when the file changes."""
    path = finders.find("frontend/widget.js")
    if not path:
        raise FileNotFoundError("frontend/widget.js is missing from the static files")
    return _widget_source_cached(path, Path(path).stat().st_mtime_ns)


@require_GET
@gzip_page
@etag(lambda request: widget_source()[1])
def widget_js(request):
    body, _digest = widget_source()
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=WIDGET_MAX_AGE_S)
    # Host pages that isolate themselves (COEP require-corp) may still load it.
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def widget_demo(request):
    department = request.GET.get("department", "support")
    locale = request.GET.get("locale", "")
    if locale not in {code for code, _name in settings.LANGUAGES}:
        locale = ""
    return render(
        request, "frontend/widget_demo.html", {"department": department[:50], "locale": locale}
    )
