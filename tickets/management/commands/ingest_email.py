"""`chatportal ingest_email [PATH]`: one RFC 822 message into a ticket (stdin without PATH).

For an MTA pipe (`|chatportal ingest_email` in aliases, a Postfix pipe
transport): the exit status is 0 when the message was taken (or ignored as
an auto-reply, or a repeated delivery), 65 (EX_DATAERR) for a message we
cannot use, so the MTA bounces it instead of retrying forever, and 75
(EX_TEMPFAIL) when anything else failed (the database is down): the MTA
keeps the mail and tries again later, where any other status would bounce it.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from tickets.email.inbound import MAX_MESSAGE_BYTES, InboundError, ingest_message
from tickets.errors import TicketError

EX_DATAERR = 65
EX_TEMPFAIL = 75

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Ingest one raw e-mail message (from PATH, or stdin) as a new ticket or a reply."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", help="a file holding the message; stdin if omitted")

    def handle(self, *args, path: str | None = None, **options):
        if path and path != "-":
            file = Path(path)
            if not file.is_file():
                raise CommandError(f"no such file: {path}")
            raw = file.read_bytes()[: MAX_MESSAGE_BYTES + 1]
        else:
            raw = sys.stdin.buffer.read(MAX_MESSAGE_BYTES + 1)
        try:
            result = ingest_message(raw)
        except (InboundError, TicketError) as exc:
            raise CommandError(exc.detail, returncode=EX_DATAERR) from None
        except Exception:
            logger.exception("inbound e-mail not taken; the MTA should retry")
            raise CommandError(
                "temporary failure, try again later", returncode=EX_TEMPFAIL
            ) from None
        number = result.ticket.number if result.ticket is not None else "-"
        self.stdout.write(f"{result.outcome} {number}".strip())
