from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def home(request):
    return render(request, "frontend/home.html")


@require_GET
@login_required
def console(request):
    # The realtime console arrives with its own issue; this page proves the login path.
    return render(request, "frontend/console_placeholder.html")


@require_GET
def portal_home(request):
    return render(request, "frontend/portal_placeholder.html")
