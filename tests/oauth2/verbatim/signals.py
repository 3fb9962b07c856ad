# The spec's "Using Django Signals" signals.py, verbatim but for the import path
# (authlib.integrations.django_oauth2 -> server.oauth2). Additions are marked "# added:".
# Not imported by apps.py: the tests connect these receivers for one test at a time.
# added: the next line (ruff: keep the spec's import order).
# ruff: noqa: I001
from django.dispatch import receiver
from server.oauth2 import client_authenticated, token_authenticated, token_revoked
import logging

from django.contrib.auth.models import User  # added: the spec uses User without importing it
from django.utils import timezone  # added: the spec uses timezone without importing it

logger = logging.getLogger(__name__)


@receiver(client_authenticated)
def on_client_authenticated(sender, client=None, **kwargs):
    logger.info(f"Client {client.client_id} authenticated")
    # Update client statistics, log authentication, etc.


@receiver(token_authenticated)
def on_token_authenticated(sender, token=None, **kwargs):
    logger.info(f"Token for user {token.user_id} authenticated")
    # Update user last activity, log API usage, etc.
    # Django's User has no `last_api_access` field: this raises FieldDoesNotExist on every call.
    User.objects.filter(id=token.user_id).update(last_api_access=timezone.now())


@receiver(token_revoked)
def on_token_revoked(sender, token=None, **kwargs):
    logger.info(f"Token {token.access_token} revoked")
    # Clean up related resources, notify user, etc.
    # Send push notification about token revocation
