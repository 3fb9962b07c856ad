"""The OpenID Provider's signing keys (ID tokens), managed by `server.services.signing_keys`.

A key's life: *next* (published in the JWKS before it signs anything, so relying parties that
cache the JWKS already have it when it starts signing), *active* (signs; one per algorithm),
*retired* (signs nothing, still published until every token it signed has expired), *revoked*
(never published again: tokens it signed stop verifying). The private key is stored only
encrypted (`server.key_crypto`, AES-GCM bound to the kid) and never leaves the server.
"""

from django.db import models
from django.utils import timezone

SIGNING_ALGORITHMS = ("RS256", "ES256")


class SigningKey(models.Model):
    """One asymmetric key pair the server signs ID tokens with."""

    class State(models.TextChoices):
        NEXT = "next", "Next (published, not yet signing)"
        ACTIVE = "active", "Active (signing)"
        RETIRED = "retired", "Retired (published until its tokens expire)"
        REVOKED = "revoked", "Revoked (not published)"

    class Algorithm(models.TextChoices):
        RS256 = "RS256", "RS256 (RSA 2048, SHA-256)"
        ES256 = "ES256", "ES256 (ECDSA P-256, SHA-256)"

    kid = models.CharField(max_length=64, unique=True)
    alg = models.CharField(max_length=8, choices=Algorithm.choices, default=Algorithm.RS256)
    state = models.CharField(max_length=8, choices=State.choices, default=State.NEXT)
    # The public JWK (kty and its parameters; kid, use and alg are added when published).
    public_jwk = models.JSONField()
    # "v1." + hex(nonce || AES-GCM ciphertext of the private JWK); never shown or exported.
    private_key_encrypted = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One signing key per algorithm: two requests creating the first key at once cannot
            # both win (the loser re-reads the winner's key).
            models.UniqueConstraint(
                fields=["alg"], condition=models.Q(state="active"), name="signing_key_one_active_per_alg"
            ),
        ]
        permissions = [("manage_signing_keys", "Can rotate and revoke signing keys")]

    def __str__(self) -> str:
        return f"{self.alg} {self.kid} ({self.state})"

    def published_jwk(self) -> dict:
        """The public key as the JWKS serves it: kid, use and alg included, no private part."""
        return {**self.public_jwk, "kid": self.kid, "use": "sig", "alg": self.alg}
