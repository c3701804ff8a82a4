from django.core.management.base import BaseCommand

from queueing.demo import DEMO_PASSWORD, STAFF, load_demo


class Command(BaseCommand):
    help = "Loads the demo center (desks, staff, case types, platform accounts); idempotent."

    def handle(self, *args: object, **options: object) -> None:
        center = load_demo()
        self.stdout.write(self.style.SUCCESS(f"Demo center ready: {center.name}"))
        logins = ", ".join(username for username, _name, _role in STAFF)
        self.stdout.write(f"Staff logins: {logins} (password: {DEMO_PASSWORD})")
