"""Seed pending device authorizations (RFC 8628) for the device-polling bench line: a public
device client and `--devices` authorizations nobody has answered yet, through the one write
path; their device codes one a line, and the client_id as JSON.

    python -m bench.seed_devices --devices 1000 --codes bench/work/devices.txt --out bench/work/devices.json
"""

import argparse
import json
import os
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--codes", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    import django

    django.setup()
    from server import credentials, services
    from server.actors import Actor
    from server.conf import server_settings
    from server.models import Client
    from server.oauth2 import device

    client, _ = services.create_client(
        name="bench device",
        actor=Actor.system("bench"),
        client_type=Client.Type.PUBLIC,
        redirect_uris=[],
        grant_types=[device.DEVICE_CODE_GRANT_TYPE],
        scope=["profile"],
    )
    codes = []
    while len(codes) < args.devices:
        code = credentials.generate("device_code")
        row = services.start_device_authorization(
            client=client,
            scope="profile",
            device_code=code,
            user_code=device.normalize_user_code(device.generate_user_code()),
            expires_in=3600,  # outlives the run: every poll finds it pending
            interval=server_settings.OAUTH2_DEVICE_POLL_INTERVAL,
        )
        if row is not None:
            codes.append(code)
    Path(args.codes).write_text("\n".join(codes) + "\n")
    Path(args.out).write_text(json.dumps({"client_id": client.client_id, "devices": len(codes)}))


if __name__ == "__main__":
    main()
