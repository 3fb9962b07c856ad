"""The spec's "Using Django Signals" receivers, with only import paths changed, except:

- the spec updates `User.last_api_access`, a field Django's User does not have (every API call
  would fail); the receiver logs instead;
- the spec logs the revoked access token itself; a token value must never reach a log (see
  server/oauth2/signals.py), so the receiver logs the token's primary key.
The package's signals are also sent by the project's own server, so the receivers only speak
about this app's clients and tokens.
"""

import logging

from django.dispatch import receiver

from server.oauth2 import client_authenticated, token_authenticated, token_revoked

from .models import Client, Token

logger = logging.getLogger(__name__)


@receiver(client_authenticated)
def on_client_authenticated(sender, client=None, **kwargs):
    if not isinstance(client, Client):
        return
    logger.info(f"Client {client.client_id} authenticated")
    # Update client statistics, log authentication, etc.


@receiver(token_authenticated)
def on_token_authenticated(sender, token=None, **kwargs):
    if not isinstance(token, Token):
        return
    logger.info(f"Token for user {token.user_id} authenticated")
    # Update user last activity, log API usage, etc.


@receiver(token_revoked)
def on_token_revoked(sender, token=None, **kwargs):
    if not isinstance(token, Token):
        return
    logger.info(f"Token {token.pk} revoked")
    # Clean up related resources, notify user, etc.
