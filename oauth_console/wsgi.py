"""WSGI entry point: `gunicorn oauth_console.wsgi`.

Django's `get_wsgi_application()`, with the handler's request class ours
(`oauth_console.wsgi_requests`: the scheme and the host worked out once per request).
"""

import os

import django

from oauth_console.wsgi_requests import Handler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
django.setup(set_prefix=False)  # as get_wsgi_application(): the handler sets it per request
application = Handler()
