"""Marks every callback past its deadline and not made as BREACHED, in every center.

Run it every few minutes (cron or a scheduler); the specialist's and the supervisor's
pages also do it when they load."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from center.models import Center
from center.services import callbacks_mark_breached


class Command(BaseCommand):
    help = "Marks overdue callbacks as breached."

    def handle(self, *args: Any, **options: Any) -> None:
        total = sum(callbacks_mark_breached(center=center) for center in Center.objects.all())
        self.stdout.write(f"{total} callback(s) marked as breached.")
