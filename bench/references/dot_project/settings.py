"""django-oauth-toolkit with its default settings. Production settings from the same
environment variables as oauth-console, and the same Django middleware stack."""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
DEBUG = os.environ.get("DEBUG", "0") in {"1", "true", "yes", "on"}
SECRET_KEY = os.environ["SECRET_KEY"]
ALLOWED_HOSTS = os.environ.get("ALLOWED_HOSTS", "127.0.0.1").split(",")
if os.environ.get("SECURE_PROXY_SSL_HEADER", "") in {"1", "true", "yes", "on"}:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
]
# oauth-console's stack minus its own audit-context middleware.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "urls"
WSGI_APPLICATION = "wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# The same persistent connections as oauth-console; otherwise Django's defaults, as its users
# run it: no CONN_HEALTH_CHECKS (which would add a `SELECT 1` before every request).
CONN_MAX_AGE = int(os.environ.get("CONN_MAX_AGE", "60"))
DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=CONN_MAX_AGE)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The same pragmas as oauth-console, so SQLite runs are comparable.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
USE_TZ = True
TIME_ZONE = "UTC"

LOGIN_URL = "/accounts/login/"
# DOT's defaults otherwise (PBKDF2-hashed client secrets, PKCE required, refresh rotation);
# only the scopes the scenarios use are declared, and OpenID Connect turned on with its key.
# OpenID Connect (the openid scenario): DOT needs an RSA key in its settings; a bench-only key
# made once per work folder (by the seed step, before any server starts), never a real one.
_OIDC_KEY_FILE = BASE_DIR.parent.parent / "work" / "dot-oidc-rsa.pem"
if not _OIDC_KEY_FILE.exists():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _OIDC_KEY_FILE.parent.mkdir(parents=True, exist_ok=True)
    _pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    _partial = _OIDC_KEY_FILE.with_suffix(f".{os.getpid()}")
    _partial.write_bytes(_pem)
    os.replace(_partial, _OIDC_KEY_FILE)
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _OIDC_KEY_FILE.read_text(),
    "SCOPES": {
        "openid": "OpenID Connect",
        "profile": "Your profile",
        "read": "Read",
        "write": "Write",
        "introspection": "Introspect tokens",
    },
}
