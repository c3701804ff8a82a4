from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Migrates, loads the demo center and serves every page at http://127.0.0.1:8000."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args: object, **options: object) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("seed_demo")
        self.stdout.write(f"Open http://{options['addrport']}/ (board: /board/)")
        call_command("runserver", options["addrport"], use_reloader=False)
