"""WSGI entry point: `gunicorn oauth_console.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oauth_console.settings")
application = get_wsgi_application()
