"""The virtual clients of the soak: each one an OAuth client app with its own signed-in user.

Each keeps the tokens it holds and what it expects of them, and checks every answer against that
expectation as it goes (a token it holds must work, one it revoked must not), so a wrong answer is
counted even when its status is not a 5xx.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

REDIRECT_URI = "https://app.example.com/callback"
SCOPE = "profile email read"
# Weights of the actions a virtual client picks from.
ACTIONS = {
    "code_flow": 12,
    "client_credentials": 18,
    "refresh": 15,
    "use": 30,
    "introspect": 10,
    "revoke": 15,
}


@dataclass
class Pair:
    """Tokens from one issuance, as the client holds them."""

    access: str
    refresh: str | None
    family: str
    scope: str


@dataclass
class Ledger:
    """What every virtual client did, shared (under a lock) for the checks at the end."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    issued_access: list[str] = field(default_factory=list)
    issued_refresh: list[str] = field(default_factory=list)
    # Revocation calls: (token value, "access_token" | "refresh_token").
    revocations: list[tuple[str, str]] = field(default_factory=list)
    # Access tokens that must no longer work (revoked directly or with their family).
    dead_access: set[str] = field(default_factory=set)
    statuses: Counter = field(default_factory=Counter)  # (action, status) -> count
    server_errors: list[str] = field(default_factory=list)
    transport_errors: list[str] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    requests: int = 0
    latencies: dict[str, list[float]] = field(default_factory=dict)

    def note(self, action: str, response: requests.Response, started: float) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[(action, response.status_code)] += 1
            self.latencies.setdefault(action, []).append(time.monotonic() - started)
            if response.status_code >= 500:
                self.server_errors.append(f"{action}: {response.status_code} {response.text[:200]}")


class Budget:
    """Stops every client at a deadline or after a number of requests, whichever comes first."""

    def __init__(self, seconds: float, max_requests: int):
        self.deadline = time.monotonic() + seconds
        self.max_requests = max_requests
        self._count = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if time.monotonic() >= self.deadline or self._count >= self.max_requests:
                return False
            self._count += 1
            return True


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class VirtualClient:
    """One client app and its user, driving the server over HTTP."""

    def __init__(self, base_url: str, app: dict, ledger: Ledger, seed: int):
        self.base = base_url
        self.app = app  # client_id, client_secret, username, password
        self.ledger = ledger
        self.random = random.Random(seed)
        self.http = requests.Session()
        # The server trusts X-Forwarded-Proto (as behind a TLS proxy), so loopback counts as HTTPS.
        self.http.headers.update(
            {"X-Forwarded-Proto": "https", "Origin": f"https://{urlsplit(base_url).netloc}"}
        )
        self.pairs: list[Pair] = []

    # --- plumbing ----------------------------------------------------------------------------------

    def _send(self, action: str, method: str, path: str, **kwargs) -> requests.Response | None:
        started = time.monotonic()
        try:
            response = self.http.request(
                method, self.base + path, timeout=30, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            with self.ledger.lock:
                self.ledger.transport_errors.append(f"{action}: {type(error).__name__}: {error}")
            return None
        self.ledger.note(action, response, started)
        return response

    def _expect(self, ok: bool, message: str) -> None:
        if not ok:
            with self.ledger.lock:
                self.ledger.mismatches.append(message)

    def _auth(self) -> tuple[str, str]:
        return (self.app["client_id"], self.app["client_secret"])

    def _issued(self, body: dict, family: str) -> Pair:
        pair = Pair(body["access_token"], body.get("refresh_token"), family, body.get("scope", ""))
        with self.ledger.lock:
            self.ledger.issued_access.append(pair.access)
            if pair.refresh:
                self.ledger.issued_refresh.append(pair.refresh)
        self.pairs.append(pair)
        return pair

    # --- sign-in ----------------------------------------------------------------------------------

    def sign_in(self) -> None:
        page = self._send("sign_in", "GET", "/accounts/login/")
        if page is None or page.status_code != 200:
            raise RuntimeError(f"sign-in page: {page and page.status_code}")
        response = self._send(
            "sign_in",
            "POST",
            "/accounts/login/",
            data={
                "username": self.app["username"],
                "password": self.app["password"],
                "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
            },
            headers={"Referer": self.http.headers["Origin"] + "/accounts/login/"},
        )
        if response is None or response.status_code != 302:
            raise RuntimeError(f"sign-in failed: {response and response.status_code}")

    # --- actions ----------------------------------------------------------------------------------

    def code_flow(self) -> None:
        verifier, challenge = pkce()
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.app["client_id"],
                "redirect_uri": REDIRECT_URI,
                "scope": SCOPE,
                "state": secrets.token_hex(8),
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        response = self._send("authorize", "GET", "/oauth/authorize?" + query)
        if response is None:
            return
        if response.status_code == 200:  # the consent page, the first time
            response = self._send(
                "consent",
                "POST",
                "/oauth/authorize?" + query,
                data={"confirm": "yes", "csrfmiddlewaretoken": self.http.cookies.get("csrftoken", "")},
                headers={"Referer": self.http.headers["Origin"] + "/oauth/authorize"},
            )
            if response is None:
                return
        self._expect(response.status_code == 302, f"authorize answered {response.status_code}")
        code = parse_qs(urlsplit(response.headers.get("Location", "")).query).get("code", [None])[0]
        if not code:
            self._expect(False, f"no code in {response.headers.get('Location', '')[:120]}")
            return
        token = self._send(
            "token_code",
            "POST",
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            auth=self._auth(),
        )
        if token is not None:
            self._expect(token.status_code == 200, f"code exchange answered {token.status_code}")
            if token.status_code == 200:
                self._issued(token.json(), family=uuid.uuid4().hex)

    def client_credentials(self) -> None:
        response = self._send(
            "token_client_credentials",
            "POST",
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "profile read"},
            auth=self._auth(),
        )
        if response is not None:
            self._expect(response.status_code == 200, f"client_credentials answered {response.status_code}")
            if response.status_code == 200:
                self._issued(response.json(), family=uuid.uuid4().hex)

    def refresh(self) -> None:
        holding = [p for p in self.pairs if p.refresh]
        if not holding:
            return self.code_flow()
        pair = self.random.choice(holding)
        response = self._send(
            "token_refresh",
            "POST",
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": pair.refresh},
            auth=self._auth(),
        )
        if response is None:
            return None
        self._expect(
            response.status_code == 200, f"refresh answered {response.status_code} {response.text[:100]}"
        )
        if response.status_code == 200:
            pair.refresh = None  # rotated: spent
            self._issued(response.json(), family=pair.family)
        return None

    def use(self) -> None:
        usable = [p for p in self.pairs if "profile" in p.scope.split()]
        if not usable:
            return self.client_credentials()
        pair = self.random.choice(usable)
        response = self._send("use", "GET", "/api/me", headers={"Authorization": f"Bearer {pair.access}"})
        if response is not None:
            self._expect(
                response.status_code == 200, f"/api/me with a held token answered {response.status_code}"
            )
        return None

    def introspect(self) -> None:
        if not self.pairs:
            return self.client_credentials()
        pair = self.random.choice(self.pairs)
        response = self._send(
            "introspect", "POST", "/oauth/introspect", data={"token": pair.access}, auth=self._auth()
        )
        if response is not None:
            ok = response.status_code == 200 and response.json().get("active") is True
            self._expect(
                ok, f"introspection of a held token answered {response.status_code} {response.text[:80]}"
            )
        return None

    def revoke(self) -> None:
        if not self.pairs:
            return self.client_credentials()
        pair = self.random.choice(self.pairs)
        if pair.refresh and self.random.random() < 0.4:
            value, hint = pair.refresh, "refresh_token"
            # RFC 7009 §2.1: revoking a refresh token ends its whole family.
            gone = [p for p in self.pairs if p.family == pair.family]
        else:
            value, hint = pair.access, "access_token"
            gone = [pair]
        response = self._send(
            "revoke",
            "POST",
            "/oauth/revoke",
            data={"token": value, "token_type_hint": hint},
            auth=self._auth(),
        )
        if response is None:
            return None
        self._expect(response.status_code == 200, f"revocation answered {response.status_code}")
        if response.status_code == 200:
            with self.ledger.lock:
                self.ledger.revocations.append((value, hint))
                self.ledger.dead_access.update(p.access for p in gone)
            self.pairs = [p for p in self.pairs if p not in gone]
        return None

    def run(self, budget: Budget) -> None:
        names = list(ACTIONS)
        weights = [ACTIONS[name] for name in names]
        while budget.take():
            getattr(self, self.random.choices(names, weights)[0])()
            # Keep the held set bounded, like a real client that forgets old tokens.
            if len(self.pairs) > 50:
                self.pairs = self.pairs[-50:]
