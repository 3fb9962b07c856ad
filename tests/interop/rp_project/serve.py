"""Start the relying party: `python -m tests.interop.rp_project.serve PORT` (its settings come
from the environment: see settings.py). Migrates its own SQLite file, then serves on 127.0.0.1."""

import os
import sys

import django
from django.core.management import call_command


def main() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.interop.rp_project.settings"
    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("runserver", f"127.0.0.1:{sys.argv[1]}", use_reloader=False, skip_checks=True)


if __name__ == "__main__":
    main()
