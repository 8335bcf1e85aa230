"""What ships is what was tested: one hashed lock, every dependency used, the license shipped."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
SHIPPED_PACKAGES = (
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
)
# Dependencies that no module of ours imports by name, and why they are declared.
USED_WITHOUT_IMPORT = {
    "psycopg": "Django's postgresql backend loads it, and psycopg-pool for the default pool",
}


def project() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def locked_versions() -> dict[str, set[str]]:
    """Name -> the versions requirements.lock pins (one per platform where they differ)."""
    text = (REPO / "requirements.lock").read_text(encoding="utf-8")
    entries = re.split(r"\n(?=[A-Za-z0-9])", text)
    locked: dict[str, set[str]] = {}
    for entry in entries:
        if entry.startswith("#"):
            continue
        line = entry.split("\\", 1)[0].strip()
        requirement = Requirement(line)
        (pin,) = requirement.specifier
        assert pin.operator == "==", line
        assert "--hash=sha256:" in entry, f"{requirement.name} has no hash"
        locked.setdefault(canonicalize_name(requirement.name), set()).add(pin.version)
    return locked


def test_every_declared_dependency_is_locked_at_a_version_it_allows():
    # Fails after a dependency is added or changed in pyproject.toml until `make lock` runs.
    locked = locked_versions()
    declared = project()["dependencies"] + project()["optional-dependencies"]["dev"]
    for line in declared:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run `make lock`"
        for version in locked[name]:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"requirements.lock has {name}=={version}, pyproject.toml wants "
                f"{requirement.specifier}: run `make lock`"
            )


def test_every_runtime_dependency_is_used_by_the_shipped_code():
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for package in SHIPPED_PACKAGES
        for path in (REPO / package).rglob("*.py")
    )
    modules_of: dict[str, set[str]] = {}
    for module, distributions in packages_distributions().items():
        for distribution in distributions:
            modules_of.setdefault(canonicalize_name(distribution), set()).add(module)
    for line in project()["dependencies"]:
        name = canonicalize_name(Requirement(line).name)
        if name in USED_WITHOUT_IMPORT:
            continue
        modules = modules_of.get(name)
        assert modules, f"{name} is declared but not installed"
        # Imported, or named in settings (INSTALLED_APPS, MIDDLEWARE, backends).
        used = any(
            re.search(rf"^\s*(import|from)\s+{module}\b|[\"']{module}[.\"']", sources, re.M)
            for module in modules
        )
        assert used, f"{name} is declared in pyproject.toml but nothing imports it"


def test_the_license_file_is_the_declared_license():
    metadata = project()
    assert metadata["license"] == "AGPL-3.0-or-later"
    assert metadata["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.lstrip().startswith("GNU AFFERO GENERAL PUBLIC LICENSE")
    assert "Version 3, 19 November 2007" in text
    assert "13. Remote Network Interaction; Use with the GNU General Public License." in text
    assert text.rstrip().endswith("<https://www.gnu.org/licenses/>.")
