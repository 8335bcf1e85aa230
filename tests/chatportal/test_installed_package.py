"""The wheel ships the Romanian and Russian catalogs: an installed server speaks them.

The wheel is built from a copy of the sources (nothing written into the
checkout), installed with --no-deps into a fresh venv, and run from a temp
directory with the dependencies borrowed from the test interpreter's own
site-packages. Those are appended after the venv's own site-packages and their
.pth files are not run, so an editable install of the checkout cannot shadow
the installed package; the script checks where `chatportal` came from.
No network: the build uses the setuptools already installed (dev extra).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
PIP = [sys.executable, "-m", "pip"]
PACKAGES = [
    "chatportal",
    "foundation",
    "crm",
    "queues",
    "chat",
    "tickets",
    "integrations",
    "kb",
    "reports",
    "frontend",
]

# Runs inside the fresh venv, from a directory outside the checkout.
SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    import django
    from django.conf import settings

    django.setup()
    import chatportal
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from crm.models import Contact
    from queues.models import AgentProfile, Department
    from tickets.actions.messages import create_ticket

    call_command("migrate", verbosity=0)
    support = Department.objects.create(slug="support", name="Support", is_24x7=True)
    users = get_user_model().objects
    agent = users.create_user("boris", password="x-pass-123", first_name="Boris")
    AgentProfile.objects.create(user=agent).departments.set([support])
    contact = Contact.objects.create(name="Maria Popescu")
    contact.portal_user = users.create_user("maria", password="x-pass-123")
    contact.save()
    create_ticket(
        subject="Printer", body="It jams.", contact=contact, channel="web",
        department=support, author_role="customer", author_contact=contact,
    )
    pages = {}
    for lang in ("ro", "ru"):
        for name, user, path in (("portal", contact.portal_user, "/portal/"),
                                 ("console", agent, "/console/tickets/")):
            client = Client(HTTP_ACCEPT_LANGUAGE=lang)
            client.force_login(user)
            response = client.get(path)
            pages[f"{name}.{lang}"] = [response.status_code, response.content.decode()]
    print(json.dumps({
        "package": chatportal.__file__,
        "locale_paths": [str(p) for p in settings.LOCALE_PATHS],
        "pages": pages,
    }))
    """
)

# What each page must say in each language (from the glossary's terms).
EXPECTED = {
    "portal.ro": ["Tichetele mele", "Tichet nou"],
    "portal.ru": ["Мои обращения", "Новое обращение"],
    "console.ro": ["Tichete"],
    "console.ru": ["Обращения"],
}


def _copy_sources(target: Path) -> None:
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, target / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for package in PACKAGES:
        shutil.copytree(REPO / package, target / package, ignore=ignore)


def _run(args: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=180, **kwargs)
    assert result.returncode == 0, f"{args[:4]} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv python, environment, temp root) with the freshly built wheel installed."""
    # pyproject's PEP 639 license needs it; without build isolation nothing is downloaded.
    assert Version(metadata.version("setuptools")) >= Version("77"), (
        "the dev extra's setuptools>=77 builds the wheel offline"
    )
    root = tmp_path_factory.mktemp("installed")
    _copy_sources(root / "src")
    offline = ["--no-deps", "--no-index", "--quiet"]
    _run(
        [
            *PIP,
            "wheel",
            *offline,
            "--no-build-isolation",
            "-w",
            str(root / "dist"),
            str(root / "src"),
        ]
    )
    wheels = list((root / "dist").glob("chatportal-*.whl"))
    assert len(wheels) == 1
    _run([sys.executable, "-m", "venv", "--without-pip", str(root / "venv")])
    python = root / "venv" / "bin" / "python"
    purelib = _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"])
    venv_site = Path(purelib.stdout.strip())
    # The venv has no pip of its own: the test's pip installs into it.
    _run([*PIP, "install", *offline, "--target", str(venv_site), str(wheels[0])])
    # Dependencies from the test interpreter's site-packages, after the venv's own.
    (venv_site / "zz_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("CHATPORTAL_")
    }
    env |= {
        "DJANGO_SETTINGS_MODULE": "chatportal.settings",
        "CHATPORTAL_DATA_DIR": str(root / "data"),
        "CHATPORTAL_ALLOWED_HOSTS": "testserver",
    }
    (root / "run").mkdir()
    return python, env, root


@pytest.mark.packaging
def test_the_wheel_contains_the_compiled_catalogs(installed):
    _python, _env, root = installed
    (wheel,) = (root / "dist").glob("chatportal-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for lang in ("ro", "ru"):
        assert f"chatportal/locale/{lang}/LC_MESSAGES/django.mo" in names


@pytest.mark.packaging
def test_an_installed_server_renders_portal_and_console_in_romanian_and_russian(installed):
    python, env, root = installed
    result = _run([str(python), "-c", SCRIPT], cwd=root / "run", env=env)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    venv = root / "venv"
    assert Path(report["package"]).is_relative_to(venv), "chatportal was not the installed copy"
    assert all(Path(p).is_relative_to(venv) for p in report["locale_paths"])
    for page, needles in EXPECTED.items():
        status, html = report["pages"][page]
        assert status == 200, page
        missing = [needle for needle in needles if needle not in html]
        assert not missing, f"{page} lacks {missing}"
