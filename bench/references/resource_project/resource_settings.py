"""A resource server that is not oauth-console: the bare-Django reference's settings (same
middleware, same database) plus views protected by `server.oauth2.JWTBearerTokenValidator`,
validating oauth-console's JWT access tokens offline against its JWKS (bench.jwt_access_tokens).

Run with PYTHONPATH holding the project root (for `server.oauth2`) and bench/references/bare_project
(for its settings and `bareapp`)."""

import os

from settings import *  # noqa: F403 (the bare reference's settings, unchanged)

ROOT_URLCONF = "resource_urls"
WSGI_APPLICATION = "resource_wsgi.application"
# Only what server.oauth2 reads: the issuer names the realm of WWW-Authenticate.
OAUTH2_ISSUER = os.environ["RESOURCE_ISSUER"]
