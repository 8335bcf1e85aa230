"""Pictures in articles: agents upload them in the console, anyone fetches them by id.

Uploads go through foundation.uploads (type by content, size, random storage
name) and take raster images only; the answer is the Markdown to paste into
the body. Serving uses the attachments' headers (inline image, `nosniff`,
a sandboxing CSP), so even a file a browser would misread runs nothing.
"""

from __future__ import annotations

import uuid

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_POST

from foundation.uploads import UploadRefused, attachment_response, upload_from_request_file
from kb.actions import add_image
from kb.models import ArticleImage
from tickets.console.access import agent_required


def image_url(image: ArticleImage) -> str:
    return reverse("kb_image", args=[image.public_id])


def markdown_for(image: ArticleImage) -> str:
    alt = image.filename.rsplit(".", 1)[0].replace("]", "").replace("[", "")
    return f"![{alt}]({image_url(image)})"


@require_POST
@csrf_protect
@agent_required
def upload_image(request: HttpRequest) -> HttpResponse:
    uploaded = request.FILES.get("image")
    context: dict[str, object] = {"console_section": "kb"}
    status = 200
    if uploaded is None:
        context["error"], status = _("Choose an image to upload."), 400
    else:
        try:
            image = add_image(upload_from_request_file(uploaded), by=request.user)
        except UploadRefused as exc:
            context["error"], status = exc.detail, exc.status
        else:
            context.update({"image": image, "markdown": markdown_for(image)})
    template = "kb/console/image_uploaded.html"
    if request.htmx:  # type: ignore[attr-defined]
        template += "#result"
    return render(request, template, context, status=status)


@require_GET
def serve_image(request: HttpRequest, public_id: str) -> HttpResponse:
    try:
        image = ArticleImage.objects.filter(public_id=uuid.UUID(public_id)).first()
    except ValueError:
        image = None
    if image is None:
        raise Http404("no such image")
    try:
        return attachment_response(
            image.storage_name,
            filename=image.filename,
            content_type=image.content_type,
            size=image.size,
        )
    except FileNotFoundError:
        raise Http404("no such image") from None
