"""`chatportal backup PATH`: the database and the uploads in one .tar.gz (chatportal/backup.py)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chatportal.backup import BackupError, create_backup


class Command(BaseCommand):
    help = "Write a backup (database + media) to PATH, a .tar.gz; safe while the server runs."

    def add_arguments(self, parser):
        parser.add_argument("path")

    def handle(self, *args, path: str, **options):
        try:
            summary = create_backup(path)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"backup written to {summary.path} ({summary.engine}, database {summary.database_bytes}"
            f" bytes, {summary.media_files} media files)"
        )
