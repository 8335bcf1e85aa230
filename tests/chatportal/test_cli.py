from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from chatportal import cli
from chatportal.demo_data import DEMO_PASSWORD, demo_counts
from crm.models import Contact
from queues.models import AgentProfile, Department
from queues.tokens import authenticate_agent_token

TOKEN_RE = re.compile(r"cpt_[0-9a-f]{32}\.[0-9a-f]{64}")
REPO = Path(__file__).resolve().parents[2]


def run_cli(capsys, *args: str) -> str:
    # In-process, through the CLI's own name mapping. (execute_from_command_line
    # would close the test's database connection when the command ends.)
    name, *rest = args
    call_command(cli.ALIASES.get(name, name), *rest)
    return capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["chatportal", "agent-token", "boris"], ["chatportal", "agent_token", "boris"]),
        (["chatportal", "seed-demo"], ["chatportal", "seed_demo"]),
        (["chatportal", "migrate"], ["chatportal", "migrate"]),
    ],
)
def test_it_maps_hyphenated_command_names(monkeypatch, argv, expected):
    import django.core.management

    seen: list[list[str]] = []
    monkeypatch.setattr(django.core.management, "execute_from_command_line", seen.append)
    cli.main(argv)
    assert seen == [expected]


def chatportal_command() -> list[str]:
    script = Path(sys.executable).with_name("chatportal")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "chatportal.cli"]


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHATPORTAL_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env["CHATPORTAL_DATA_DIR"] = str(data_dir)
    env.update(extra)
    return env


@pytest.mark.django_db
def test_it_seeds_the_demo_idempotently(capsys):
    run_cli(capsys, "seed-demo")
    first = demo_counts()
    run_cli(capsys, "seed-demo")
    assert demo_counts() == first
    assert first["queues.Department"] == 3
    assert first["crm.Contact"] >= 5


@pytest.mark.django_db
def test_it_seeds_the_agents_departments_and_accounts_the_design_promises(capsys):
    run_cli(capsys, "seed-demo")
    users = get_user_model().objects
    expected = {
        "ana": ({"sales", "support"}, "Ana Ionescu"),
        "boris": ({"support"}, "Boris Petrov"),
        "chen": ({"billing", "support"}, "Chen Wei"),
        "dana": ({"billing"}, "Dana Marin"),
    }
    for username, (departments, full_name) in expected.items():
        user = users.get(username=username)
        assert user.check_password(DEMO_PASSWORD)
        assert user.get_full_name() == full_name
        profile = user.agent_profile
        assert profile.max_chats == 3
        assert set(profile.departments.values_list("slug", flat=True)) == departments
    sofia = users.get(username="sofia")
    assert sofia.is_staff and sofia.agent_profile.is_supervisor
    assert sofia.agent_profile.departments.count() == 3
    admin = users.get(username="admin")
    assert admin.is_superuser and admin.check_password(DEMO_PASSWORD)
    for n in range(1, 6):
        customer = users.get(username=f"customer{n}@example.com")
        assert customer.check_password(DEMO_PASSWORD)
        assert customer.contact.emails.filter(email=f"customer{n}@example.com").exists()
    assert not AgentProfile.objects.filter(user__username__startswith="customer").exists()

    maria = Contact.objects.get(external_id="crm-1")
    assert maria.name == "Maria Popescu"
    assert maria.portal_user.username == "customer1@example.com"
    assert maria.account_owner.username == "boris"
    assert maria.phones.filter(number="+40721234567").exists()
    assert maria.organization.name == "Electrica Nord SRL"
    assert maria.organization.default_region == "RO"
    assert maria.assets.get(serial_number="RZA-2024-0001").product.name == "RZA-500"

    sales, support, billing = (
        Department.objects.get(slug=s) for s in ("sales", "support", "billing")
    )
    assert (sales.time_zone, billing.time_zone) == ("Europe/Bucharest", "Europe/Moscow")
    assert support.is_24x7 and not sales.is_24x7 and not billing.is_24x7
    assert sales.hours.count() == 5 and billing.hours.count() == 5


@pytest.mark.django_db
def test_it_keeps_a_changed_password_when_seeding_again(capsys):
    run_cli(capsys, "seed-demo")
    boris = get_user_model().objects.get(username="boris")
    boris.set_password("a-new-secret-42")
    boris.save()
    run_cli(capsys, "seed-demo")
    boris.refresh_from_db()
    assert boris.check_password("a-new-secret-42")


@pytest.mark.django_db
def test_it_prints_the_same_working_agent_token_twice(capsys):
    run_cli(capsys, "seed-demo")
    first = run_cli(capsys, "agent-token", "boris").strip()
    second = run_cli(capsys, "agent-token", "boris").strip()
    assert TOKEN_RE.fullmatch(first)
    assert first == second
    assert authenticate_agent_token(first) == get_user_model().objects.get(username="boris")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("username", "message"),
    [("nobody", "no such user"), ("customer1@example.com", "not an active agent")],
)
def test_it_refuses_a_token_for_unknown_users_and_non_agents(capsys, username, message):
    run_cli(capsys, "seed-demo")
    with pytest.raises(CommandError, match=message):
        call_command("agent_token", username)


def test_it_runs_the_demo_from_an_empty_data_directory(tmp_path):
    data_dir = tmp_path / "data"
    assert not data_dir.exists()
    env = embedded_env(data_dir)
    prepared = subprocess.run(
        [*chatportal_command(), "demo", "--no-serve"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert prepared.returncode == 0, prepared.stderr
    assert (data_dir / "chatportal.sqlite3").exists()
    token = subprocess.run(
        [*chatportal_command(), "agent-token", "boris"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert token.returncode == 0, token.stderr
    assert TOKEN_RE.fullmatch(token.stdout.strip())


def test_it_passes_the_deploy_check_with_production_settings(tmp_path):
    env = embedded_env(
        tmp_path,
        CHATPORTAL_SECRET_KEY=secrets.token_urlsafe(64),
        CHATPORTAL_ALLOWED_HOSTS="support.example.com",
        CHATPORTAL_PUBLIC_URL="https://support.example.com",
        CHATPORTAL_HTTPS="1",
        CHATPORTAL_DEBUG="0",
    )
    result = subprocess.run(
        [*chatportal_command(), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
