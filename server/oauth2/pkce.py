"""PKCE (RFC 7636) as this package requires it: S256 only, required of public clients.

`AuthorizationServer.register_grant` adds it to every authorization-code grant.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge

__all__ = ["S256CodeChallenge"]


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) allowing only S256; `required` demands a code_challenge of every client.

    Public clients (those allowed to authenticate with "none") always need one, whatever
    `required` says (RFC 9700 §2.1.1).
    """

    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    CODE_CHALLENGE_METHODS: ClassVar[dict] = {"S256": CodeChallenge.CODE_CHALLENGE_METHODS["S256"]}

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        request = grant.request
        data = request.payload.data
        challenge = data.get("code_challenge")
        method = data.get("code_challenge_method")
        client = request.client
        is_public = bool(client) and client.check_endpoint_auth_method("none", "token")
        if not challenge and (self.required or is_public):
            raise InvalidRequestError("A PKCE code_challenge (S256) is required.")
        if challenge and method != "S256":
            # RFC 7636 §4.3: no method means "plain", which this server refuses.
            raise InvalidRequestError("Only code_challenge_method=S256 is supported.")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any = None) -> None:
        code = grant.request.authorization_code
        if code is not None:
            challenge = self.get_authorization_code_challenge(code)
            if not challenge and self.required:
                # A code minted without a challenge (before PKCE was required, or injected) must
                # not be redeemable now that PKCE is required (RFC 9700 §2.1.1, §4.8).
                raise InvalidGrantError("The authorization code was issued without PKCE.")
            method = self.get_authorization_code_challenge_method(code)
            if challenge and method not in (None, "S256"):
                # authlib would raise RuntimeError (a 500) for a stored method it cannot verify.
                raise InvalidGrantError("The authorization code's PKCE method is not supported.")
        super().validate_code_verifier(grant, result)

    def get_authorization_code_challenge(self, authorization_code: Any) -> str:
        getter = getattr(authorization_code, "get_code_challenge", None)
        return getter() if getter else getattr(authorization_code, "code_challenge", "")

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str | None:
        getter = getattr(authorization_code, "get_code_challenge_method", None)
        method = getter() if getter else getattr(authorization_code, "code_challenge_method", None)
        return method or None
