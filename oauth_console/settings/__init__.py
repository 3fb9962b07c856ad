"""Settings for oauth-console, read from the environment (12-factor).

One settings module for every environment: development, tests and production differ only in
environment variables (README.md lists them). It is a package so that each part has one reason
to change: `base` (Django itself: database, cache, security, static files, logging), `protocol`
(the OAuth 2.0 / OpenID Connect server, defaults in server/conf.py) and `console` (the operator
console, API, audit log and operations endpoints).
"""

from oauth_console.settings.base import *  # noqa: F403
from oauth_console.settings.console import *  # noqa: F403
from oauth_console.settings.protocol import *  # noqa: F403
