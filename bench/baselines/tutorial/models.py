from django.db import models


class Message(models.Model):
    """One chat line, as in the tutorial's "save messages" extension: a row per message."""

    room = models.CharField(max_length=64)
    author = models.CharField(max_length=16)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.room} #{self.id} ({self.author})"
