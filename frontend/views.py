from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

import rjsmin
from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header
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


# The widget's string tables (see widget.js, "Strings"): one positional list per locale.
STRINGS_BLOCK_RE = re.compile(r"\n  var STRINGS = \{\n(.*?)\n  \};\n", re.S)
LOCALE_TABLE_RE = re.compile(r"\n?    (\w+): \[(.*?)\n    \]", re.S)
JS_STRING_RE = re.compile(r'"((?:[^"\\]|\\.)*)"')
WIDGET_FALLBACK_LOCALE = "en"


def widget_string_tables(source: str) -> dict[str, list[str]]:
    """Each locale's strings, as JavaScript string literals (quotes included)."""
    block = STRINGS_BLOCK_RE.search(source)
    if block is None:
        raise ValueError("widget.js has no `var STRINGS = {…};` block")
    return {
        locale: [f'"{text}"' for text in JS_STRING_RE.findall(body)]
        for locale, body in LOCALE_TABLE_RE.findall(block.group(1))
    }


def localize_widget(source: str, locale: str) -> str:
    """The widget with one locale's strings only, English filling its blanks.

    A visitor downloads one language, not all of them: the tables are most
    of the script, and each new language would otherwise cost every visitor.
    """
    tables = widget_string_tables(source)
    english = tables[WIDGET_FALLBACK_LOCALE]
    own = tables.get(locale, english)
    merged = [
        text if text != '""' else fallback for text, fallback in zip(own, english, strict=True)
    ]
    block = "\n  var STRINGS = {" + locale + ": [" + ", ".join(merged) + "]};\n"
    return STRINGS_BLOCK_RE.sub(lambda _match: block, source, count=1)


@lru_cache(maxsize=16)
def _widget_source_cached(path: str, mtime_ns: int, locale: str) -> tuple[bytes, str]:
    source = localize_widget(Path(path).read_text(encoding="utf-8"), locale)
    body = minify_widget(source).encode("utf-8")
    return body, hashlib.sha256(body).hexdigest()[:32]


def _widget_path() -> str:
    path = finders.find("frontend/widget.js")
    if not path:
        raise FileNotFoundError("frontend/widget.js is missing from the static files")
    return path


@lru_cache(maxsize=1)
def _widget_locales(path: str, mtime_ns: int) -> frozenset[str]:
    return frozenset(widget_string_tables(Path(path).read_text(encoding="utf-8")))


def widget_locale(request) -> str:
    """`?lang=ro` when the host page names one, else the browser's Accept-Language."""
    path = _widget_path()
    known = _widget_locales(path, Path(path).stat().st_mtime_ns)
    asked = request.GET.get("lang", "")
    wanted = (
        [asked]
        if asked
        else [
            code
            for code, _q in parse_accept_lang_header(request.headers.get("Accept-Language", ""))
        ]
    )
    for code in wanted:
        base = code.lower().replace("_", "-").split("-")[0]
        if base in known:
            return base
    return WIDGET_FALLBACK_LOCALE


def widget_source(locale: str = WIDGET_FALLBACK_LOCALE) -> tuple[bytes, str]:
    """The minified widget script in one locale and its ETag, redone only when the file changes."""
    path = _widget_path()
    return _widget_source_cached(path, Path(path).stat().st_mtime_ns, locale)


@require_GET
@gzip_page
@etag(lambda request: widget_source(widget_locale(request))[1])
def widget_js(request):
    body, _digest = widget_source(widget_locale(request))
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    patch_cache_control(response, public=True, max_age=WIDGET_MAX_AGE_S)
    if "lang" not in request.GET:
        # Caches keep one copy per language the browsers ask for.
        patch_vary_headers(response, ["Accept-Language"])
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
