"""What the system-check modules share."""

ISSUER_HINT = (
    "Set OAUTH2_ISSUER to the server's public https origin, e.g. "
    "OAUTH2_ISSUER=https://auth.example.com (docs/deployment.md)."
)
