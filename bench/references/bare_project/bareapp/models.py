from django.db import models
from django.utils import timezone


class Item(models.Model):
    """A row shaped like a token: a unique 64-character key and a couple of indexed columns."""

    key = models.CharField(max_length=64, unique=True)
    owner = models.CharField(max_length=64, db_index=True)
    scope = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.key[:8]
