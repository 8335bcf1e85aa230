"""The `chatportal` command: manage.py with the project's settings.

`chatportal demo`, `serve`, `seed-demo`, `agent-token USER`, `import-crm FILE` and every Django
management command (`chatportal migrate`, `chatportal check --deploy`, ...).
"""

from __future__ import annotations

import os
import sys

# Our own commands are spelled with hyphens on the command line.
ALIASES = {
    "seed-demo": "seed_demo",
    "agent-token": "agent_token",
    "gdpr-export": "gdpr_export",
    "gdpr-erase": "gdpr_erase",
    "import-crm": "import_crm",
}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatportal.settings")
    if len(argv) > 1:
        argv[1] = ALIASES.get(argv[1], argv[1])
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
