"""The spec's example models, with only the import path of the mixins changed (plus the Post
model its API views use)."""

from django.contrib.auth.models import User
from django.db import models

from server.oauth2 import AuthorizationCodeMixin, ClientMixin, TokenMixin


class Client(models.Model, ClientMixin):  # noqa: DJ008 - the spec's model, as written
    client_id = models.CharField(max_length=40, unique=True)
    client_secret = models.CharField(max_length=55, blank=True)
    name = models.CharField(max_length=100)
    redirect_uris = models.TextField()
    allowed_scopes = models.TextField(default="")
    response_types = models.TextField(default="code")
    grant_types = models.TextField(default="authorization_code refresh_token")

    def get_allowed_redirect_uris(self):
        return self.redirect_uris.split()


class AuthorizationCode(models.Model, AuthorizationCodeMixin):  # noqa: DJ008 - as in the spec
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    code = models.CharField(max_length=120, unique=True)
    redirect_uri = models.TextField()
    scope = models.TextField(default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    code_challenge = models.TextField(blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)

    # As in the spec. Django's `client` ForeignKey installs its own `client_id` attribute (the
    # client's primary key) over this property, so it is never reached; the mixins know.
    @property
    def client_id(self):
        return self.client.client_id

    @property
    def user_id(self):
        return self.user.id


class Token(models.Model, TokenMixin):  # noqa: DJ008 - as in the spec
    user = models.ForeignKey(User, on_delete=models.CASCADE)
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    access_token = models.CharField(max_length=255, unique=True)
    # Spec bug kept as is: unique and blank, so two tokens without a refresh token collide.
    # Every example client may refresh, so every token here has one.
    refresh_token = models.CharField(max_length=255, unique=True, blank=True)
    token_type = models.CharField(max_length=20, default="Bearer")
    scope = models.TextField(default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_in = models.IntegerField(default=3600)
    revoked = models.BooleanField(default=False)

    @property
    def client_id(self):
        return self.client.client_id

    @property
    def user_id(self):
        return self.user.id

    @property
    def issued_at(self):
        return int(self.created_at.timestamp())


class Post(models.Model):  # noqa: DJ008 - only read as JSON
    """What the spec's API views read and write."""

    author = models.ForeignKey(User, on_delete=models.CASCADE)
    title = models.CharField(max_length=200)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    public = models.BooleanField(default=False)
    featured = models.BooleanField(default=False)
