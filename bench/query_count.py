"""The SQL one request of each hot path runs, for the profile page.

Run by `bench.profile` in a subprocess with the bench server's environment (same database, same
SECRET_KEY): `python -m bench.query_count CREDS_JSON`. Sends one client_credentials token request
and one bearer GET through Django's test client (HTTPS, as the proxy-SSL header would make it)
after one warm-up each, and prints {"token": [sql, ...], "bearer": [sql, ...]} as JSON.
"""

import json
import os
import sys


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.targets import CLIENT_CREDENTIALS_BODY, basic_auth

    with open(sys.argv[1]) as handle:
        creds = json.load(handle)
    # The server only answers its ALLOWED_HOSTS (127.0.0.1), not the test client's "testserver".
    browser = Client(raise_request_exception=False, HTTP_HOST="127.0.0.1")
    requests = {
        "token": lambda: browser.post(
            "/oauth/token",
            CLIENT_CREDENTIALS_BODY,
            content_type="application/x-www-form-urlencoded",
            secure=True,
            headers={"authorization": basic_auth(creds["cc"]["client_id"], creds["cc"]["client_secret"])},
        ),
        "bearer": lambda: browser.get(
            "/api/me", secure=True, headers={"authorization": f"Bearer {creds['bearer_token']}"}
        ),
    }
    result = {}
    for name, send in requests.items():
        send()  # warm-up: first-use work (imports, caches) is not what a request costs
        with CaptureQueriesContext(connection) as queries:
            response = send()
        result[name] = {
            "status": response.status_code,
            "queries": [" ".join(q["sql"].split()) for q in queries.captured_queries],
        }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
