"""Deletes identity media past their retention and erases old visitors' personal data.

Run it at least hourly (see docs/identity.md); running it twice changes nothing more.
"""

from django.core.management.base import BaseCommand

from center.services import identity_media_purge, personal_data_erase
from queueing.messaging import texts_personal_data_erase


class Command(BaseCommand):
    help = (
        "Deletes identity media (file and record) past the center's retention and erases "
        "the names and phone numbers of visitors whose closed cases are older than the "
        "personal-data retention (and the phone numbers of their callbacks, consents to "
        "texts and texts). Identity check results are kept."
    )

    def handle(self, *args: object, **options: object) -> None:
        media = identity_media_purge()
        visitors = personal_data_erase()
        consents, texts = texts_personal_data_erase()
        self.stdout.write(f"Identity media deleted: {media}")
        self.stdout.write(f"Visitors' personal data erased: {visitors}")
        self.stdout.write(f"Text consents deleted: {consents}, text phone numbers erased: {texts}")
