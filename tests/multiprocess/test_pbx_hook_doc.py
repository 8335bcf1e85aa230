"""The Asterisk hook in docs/operations.md works: its curl lines, run as Asterisk would run them.

The dialplan block is read from the doc; each `System(...)` is expanded the way
Asterisk does it (`${…}` variables filled in, `\\,` unescaped) and handed to
/bin/sh against a live server, in the order a real call runs them.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
UNIQUEID = "1765100000.42"
CALLER = "0721234567"  # Maria Popescu in the demo data, written as a local number


def dialplan() -> str:
    text = DOC.read_text()
    marker = text.index("<!-- pbx-hook")
    start = text.index("```", marker)
    end = text.index("```", start + 3)
    return text[start + 3 : end]


def system_commands(plan: str) -> dict[str, str]:
    """The shell command of each System() in the plan, keyed by the state it posts."""
    commands = {}
    for line in plan.splitlines():
        found = re.search(r"System\((.*)\)\s*$", line)
        if found:
            state = re.search(r'"state": "(\w+)"', found.group(1)).group(1)
            commands[state] = found.group(1)
    return commands


def expand(command: str, variables: dict[str, str]) -> str:
    """What Asterisk hands to the shell: variables substituted, escaped commas plain."""

    def substitute(match: re.Match) -> str:
        return variables[match.group(1)]

    return re.sub(r"\$\{([^}]+)\}", substitute, command).replace("\\,", ",")


def globals_of(plan: str) -> dict[str, str]:
    section = plan.split("[globals]", 1)[1].split("\n[", 1)[0]
    pairs = [line.split("=", 1) for line in section.strip().splitlines() if "=" in line]
    return {name.strip(): value.strip() for name, value in pairs}


def run(command: str) -> dict:
    done = subprocess.run(
        ["/bin/sh", "-c", command], capture_output=True, text=True, timeout=30, check=True
    )
    return json.loads(done.stdout)


# The embedded server never uses the services; curl and the worker are child processes.
@pytest.mark.both_passes
def test_the_documented_dialplan_reports_a_whole_call(embedded_server):
    plan = dialplan()
    documented = globals_of(plan)
    assert set(documented) == {"CHATPORTAL_URL", "CHATPORTAL_TOKEN"}
    commands = system_commands(plan)
    assert set(commands) == {"ringing", "answered", "ended"}
    variables = {
        "CHATPORTAL_URL": embedded_server.url,
        "CHATPORTAL_TOKEN": embedded_server.agent_token("sofia"),
        "UNIQUEID": UNIQUEID,
        "ARG1": UNIQUEID,
        "CALLERID(num)": CALLER,
        "CHANNEL(endpoint)": "boris",
    }

    ringing = run(expand(commands["ringing"], variables))
    assert ringing["call"]["state"] == "ringing"
    assert ringing["call"]["external_id"] == UNIQUEID
    assert ringing["call"]["department"] == "support"
    assert ringing["contact"]["name"] == "Maria Popescu"

    answered = run(expand(commands["answered"], variables))
    assert answered["call"]["id"] == ringing["call"]["id"]
    assert answered["call"]["state"] == "answered"
    assert answered["call"]["agent"] == "boris"

    ended = run(expand(commands["ended"], variables))
    assert ended["call"]["id"] == ringing["call"]["id"]
    assert ended["call"]["state"] == "ended"
    assert ended["call"]["duration_s"] is not None

    # The PBX retries the hangup: still one call, still ended.
    again = run(expand(commands["ended"], variables))
    assert again["call"]["id"] == ringing["call"]["id"]


@pytest.mark.parametrize("state", ["ringing", "answered", "ended"])
def test_each_documented_line_is_one_curl_with_a_timeout(state):
    command = system_commands(dialplan())[state]
    assert command.startswith("curl -s -m 2 ")
    assert command.count("curl ") == 1
