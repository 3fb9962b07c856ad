"""Relying parties no one here wrote, against a live server of ours.

`op` is the provider on pytest-django's live server (http://localhost:<port>), seen the way a
relying party sees it: through its discovery document. `signed_in_agent` is the end user's
browser for the flows without a real browser (requests: sign in, then approve the consent page).
`mozilla_rp` starts tests/interop/rp_project (mozilla-django-oidc) as a second server in its own
process, on 127.0.0.1 and another port, with a client registered for its callback.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests

from tests.security.conftest import LiveBrowser

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "alice-password-123"
OIDC_SCOPES = ["openid", "profile", "email", "read"]
RENEW_SECONDS = 2


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user(
        "alice", "alice@example.com", PASSWORD, first_name="Alice", last_name="Liddell"
    )


@pytest.fixture
def op(live_server):
    """The provider as a relying party finds it: base URL and discovery document."""
    response = requests.get(live_server.url + "/.well-known/openid-configuration", timeout=10)
    assert response.status_code == 200, response.text[:300]
    return SimpleNamespace(url=live_server.url, metadata=response.json())


@pytest.fixture
def signed_in_agent(op, alice):
    """Alice's user agent (requests), signed in on the provider."""
    return LiveBrowser(op.url, "alice", PASSWORD)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"The relying party exited ({process.returncode}):\n{log.read_text()[-3000:]}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"The relying party did not answer at {url}:\n{log.read_text()[-3000:]}")


@pytest.fixture
def mozilla_rp(op, make_client, tmp_path):
    """mozilla-django-oidc's relying party, configured from our discovery document, with a
    confidential client registered for its callback: SimpleNamespace(url, client, log)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    client, secret = make_client("Mozilla RP", redirect_uris=[f"{base}/oidc/callback/"], scope=OIDC_SCOPES)
    metadata = op.metadata
    env = {
        **os.environ,
        "RP_BASE_URL": base,
        "RP_DATABASE": str(tmp_path / "rp.sqlite3"),
        "RP_CLIENT_ID": client.client_id,
        "RP_CLIENT_SECRET": secret,
        "RP_AUTHORIZATION_ENDPOINT": metadata["authorization_endpoint"],
        "RP_TOKEN_ENDPOINT": metadata["token_endpoint"],
        "RP_USERINFO_ENDPOINT": metadata["userinfo_endpoint"],
        "RP_JWKS_ENDPOINT": metadata["jwks_uri"],
        "PYTHONPATH": str(REPO),
        # The RP renews its sign-in with prompt=none this long after it (SessionRefresh).
        "RP_RENEW_SECONDS": str(RENEW_SECONDS),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DATABASE_URL", None)
    log = tmp_path / "rp.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.interop.rp_project.serve", str(port)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(base + "/", process, log)
        yield SimpleNamespace(url=base, client=client, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
