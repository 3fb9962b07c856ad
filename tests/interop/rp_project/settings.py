"""A relying party no one here wrote: mozilla-django-oidc in a Django project of its own.

Run as a separate process (tests/interop/rp_project/serve.py) so that its settings never mix
with the provider's. Everything it knows about the provider comes from the environment, which
the test fills from our discovery document and a client registered through the write path.
"""

import os

BASE_URL = os.environ["RP_BASE_URL"]  # e.g. http://127.0.0.1:8765
SECRET_KEY = "rp-only-for-tests-" + os.environ.get("RP_CLIENT_ID", "")
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.interop.rp_project.urls"
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "mozilla_django_oidc",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Renews the sign-in silently (prompt=none) once the ID token is older than
    # OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS.
    "mozilla_django_oidc.middleware.SessionRefresh",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["RP_DATABASE"]}}
# The browser keeps cookies per host, not per port: names of its own, so that the provider's
# session and CSRF cookies are never this app's (both are Django projects).
SESSION_COOKIE_NAME = "rp_sessionid"
CSRF_COOKIE_NAME = "rp_csrftoken"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

AUTHENTICATION_BACKENDS = ["mozilla_django_oidc.auth.OIDCAuthenticationBackend"]
LOGIN_URL = "oidc_authentication_init"
LOGIN_REDIRECT_URL = "/"
LOGIN_REDIRECT_URL_FAILURE = "/?failed=1"

# mozilla-django-oidc, configured as its documentation says for a provider with RS256 keys.
OIDC_RP_CLIENT_ID = os.environ["RP_CLIENT_ID"]
OIDC_RP_CLIENT_SECRET = os.environ["RP_CLIENT_SECRET"]
OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ["RP_AUTHORIZATION_ENDPOINT"]
OIDC_OP_TOKEN_ENDPOINT = os.environ["RP_TOKEN_ENDPOINT"]
OIDC_OP_USER_ENDPOINT = os.environ["RP_USERINFO_ENDPOINT"]
OIDC_OP_JWKS_ENDPOINT = os.environ["RP_JWKS_ENDPOINT"]
OIDC_RP_SIGN_ALGO = os.environ.get("RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = "openid email"
OIDC_USE_PKCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_TIMEOUT = 10
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = int(os.environ.get("RP_RENEW_SECONDS", "900"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"mozilla_django_oidc": {"handlers": ["console"], "level": "DEBUG"}},
}
