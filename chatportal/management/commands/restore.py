"""`chatportal restore PATH [--force]`: put a backup back (chatportal/backup.py). Stop the workers first."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chatportal.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore the database and media from a `chatportal backup` file. Stop the workers first."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument(
            "--force", action="store_true", help="replace a database that already holds tables"
        )

    def handle(self, *args, path: str, force: bool, **options):
        try:
            manifest = restore_backup(path, force=force)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"restored the {manifest['engine']} backup of {manifest['created_at']}"
            f" ({manifest['media_files']} media files); run `chatportal migrate` if it is older"
        )
