"""Fill a migrated database with `--rows` items; print the key the SELECT scenario reads."""

import argparse
import json
import os
import secrets

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")

import django

django.setup()

from bareapp.models import Item  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    batch = 5000
    for start in range(0, args.rows, batch):
        size = min(batch, args.rows - start)
        Item.objects.bulk_create(
            Item(key=secrets.token_hex(32), owner=f"owner-{(start + i) % 1000}", scope="read")
            for i in range(size)
        )
    middle = Item.objects.order_by("id").values_list("key", flat=True)[args.rows // 2]
    with open(args.out, "w") as out:
        json.dump({"select_key": middle, "rows": Item.objects.count()}, out)


if __name__ == "__main__":
    main()
