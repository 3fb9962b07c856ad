"""Two protected views, in the spec's decorator style: `offline` validates the JWT against the
issuer's JWKS (fetched once, cached for its max-age) and never calls the server; `introspected`
does the same and then asks the server's introspection endpoint (RFC 7662) whether the token
is still active: the price of seeing a revocation at once."""

import json
import os
import urllib.request

import requests
from django.http import JsonResponse

from server.oauth2 import JWTBearerTokenValidator, RemoteKeySet, ResourceProtector
from server.oauth2.jwt_validation import MAX_JWKS_BYTES

ISSUER = os.environ["RESOURCE_ISSUER"]
JWKS_URI = os.environ["RESOURCE_JWKS_URI"]
INTROSPECTION_URI = os.environ["RESOURCE_INTROSPECTION_URI"]
INTROSPECTION_AUTH = (os.environ["RESOURCE_CLIENT_ID"], os.environ["RESOURCE_CLIENT_SECRET"])
# The server is reached on loopback behind no proxy; this header makes its HTTPS checks pass,
# as wrk's requests do.
BEHIND_PROXY = {"X-Forwarded-Proto": "https"}


def fetch(uri: str):
    request = urllib.request.Request(uri, headers={"Accept": "application/json", **BEHIND_PROXY})
    with urllib.request.urlopen(request, timeout=5) as response:
        cache_control = response.headers.get("Cache-Control", "")
        document = json.loads(response.read(MAX_JWKS_BYTES))
    max_age = next(
        (int(d.split("=")[1]) for d in cache_control.split(",") if d.strip().startswith("max-age=")), None
    )
    return document, max_age


class Introspecting(JWTBearerTokenValidator):
    session = requests.Session()

    def token_revoked(self, token) -> bool:
        answer = self.session.post(
            INTROSPECTION_URI,
            data={"token": self.token_string},
            auth=INTROSPECTION_AUTH,
            headers=BEHIND_PROXY,
            timeout=5,
        )
        return not answer.json().get("active")

    def authenticate_token(self, token_string):
        self.token_string = token_string  # one thread per sync worker
        return super().authenticate_token(token_string)


keys = RemoteKeySet(JWKS_URI, fetch=fetch)
require_oauth = ResourceProtector()
require_oauth.register_token_validator(JWTBearerTokenValidator(ISSUER, ISSUER, key_set=keys))
require_introspection = ResourceProtector()
require_introspection.register_token_validator(Introspecting(ISSUER, ISSUER, key_set=keys))


def _answer(request):
    token = request.oauth_token
    return JsonResponse({"client_id": token["client_id"], "sub": token["sub"], "scope": token["scope"]})


@require_oauth("profile")
def offline(request):
    return _answer(request)


@require_introspection("profile")
def introspected(request):
    return _answer(request)
