# The spec's "Django OAuth 2.0 Server Setup" models.py, verbatim but for the import path of the
# mixins (authlib.integrations.django_oauth2 -> server.oauth2). Additions are marked "# added:".
# added: the next line (ruff: the spec's models have no __str__; keep its import order).
# ruff: noqa: DJ008, I001
from django.db import models
from django.contrib.auth.models import User
from server.oauth2 import ClientMixin, AuthorizationCodeMixin, TokenMixin


class Client(models.Model, ClientMixin):
    client_id = models.CharField(max_length=40, unique=True)
    client_secret = models.CharField(max_length=55, blank=True)
    name = models.CharField(max_length=100)
    redirect_uris = models.TextField()
    allowed_scopes = models.TextField(default="")
    response_types = models.TextField(default="code")
    grant_types = models.TextField(default="authorization_code refresh_token")

    def get_allowed_redirect_uris(self):
        return self.redirect_uris.split()


class AuthorizationCode(models.Model, AuthorizationCodeMixin):
    # added: related_name. Only because tests.oauth2.exampleapp, installed beside this app, has
    # an AuthorizationCode with a `user` ForeignKey too: both would claim User.authorizationcode_set
    # (system check fields.E304). It changes nothing the package reads.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verbatim_authorization_codes")
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    code = models.CharField(max_length=120, unique=True)
    redirect_uri = models.TextField()
    scope = models.TextField(default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    code_challenge = models.TextField(blank=True)
    code_challenge_method = models.CharField(max_length=10, blank=True)

    # Never reached: the `client` ForeignKey installs its own `client_id` (the client's primary
    # key) over this property, and `user` its `user_id`. The package's mixins know.
    @property
    def client_id(self):
        return self.client.client_id

    @property
    def user_id(self):
        return self.user.id


class Token(models.Model, TokenMixin):
    # added: related_name, for the same reason as on AuthorizationCode.user.
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verbatim_tokens")
    client = models.ForeignKey(Client, on_delete=models.CASCADE)
    access_token = models.CharField(max_length=255, unique=True)
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


# added: the spec's API views read and write a Post model it never shows; these are the fields
# they use (author, title, content, created_at, public, featured).
class Post(models.Model):
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="verbatim_posts")
    title = models.CharField(max_length=200)
    content = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    public = models.BooleanField(default=False)
    featured = models.BooleanField(default=False)
