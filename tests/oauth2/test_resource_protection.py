"""ResourceProtector and BearerTokenValidator: the spec's API views and every validator hook."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.http import JsonResponse
from django.test import RequestFactory
from django.utils import timezone
from django.views import View

from server.oauth2 import BearerTokenValidator, ResourceProtector, token_authenticated
from tests.oauth2.exampleapp.api.views import require_oauth
from tests.oauth2.exampleapp.models import Post, Token
from tests.oauth2.flow import bearer

pytestmark = pytest.mark.urls("tests.oauth2.exampleapp.urls")


def test_valid_token_opens_the_view(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="profile")
    response = api.get("/api/user/", **bearer(token.access_token))
    assert response.status_code == 200
    assert response.json() == {
        "id": user.id,
        "username": "bob",
        "email": "bob@example.com",
        "first_name": "",
        "last_name": "",
    }


def test_missing_token_is_401_with_a_bare_challenge(api, oauth_client):
    response = api.get("/api/user/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="testserver"'
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "missing_authorization"


def test_realm_follows_the_issuer_setting(api, settings):
    settings.OAUTH2_ISSUER = "https://login.example.org"
    response = api.get("/api/user/")
    assert response["WWW-Authenticate"] == 'Bearer realm="https://login.example.org"'


def test_unknown_token_is_401_invalid_token(api, oauth_client):
    response = api.get("/api/user/", **bearer("nope"))
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "invalid_token"
    assert body["error_description"]
    assert response["WWW-Authenticate"].startswith('Bearer realm="testserver", error="invalid_token", ')
    assert 'error_description="' in response["WWW-Authenticate"]


def test_expired_token_is_401_invalid_token(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="profile", expires_in=60)
    Token.objects.filter(pk=token.pk).update(created_at=timezone.now() - timedelta(seconds=61))
    response = api.get("/api/user/", **bearer(token.access_token))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert "expired" in response.json()["error_description"]


def test_revoked_token_is_401_invalid_token(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="profile", revoked=True)
    response = api.get("/api/user/", **bearer(token.access_token))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_insufficient_scope_is_403_naming_the_scope(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="profile read")
    response = api.post(
        "/api/posts/create/",
        '{"title": "t", "content": "c"}',
        "application/json",
        **bearer(token.access_token),
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    challenge = response["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="testserver", error="insufficient_scope", ')
    assert challenge.endswith('scope="write"')
    assert Post.objects.count() == 0


def test_write_scope_creates_a_post(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="write")
    response = api.post(
        "/api/posts/create/",
        '{"title": "Hi", "content": "There"}',
        "application/json",
        **bearer(token.access_token),
    )
    assert response.status_code == 201
    post = Post.objects.get()
    assert response.json() == {"id": post.id}
    assert (post.author, post.title, post.content) == (user, "Hi", "There")
    listing = api.get("/api/posts/", **bearer(make_token(user, oauth_client, scope="read").access_token))
    assert [p["title"] for p in listing.json()["posts"]] == ["Hi"]


def test_bad_json_body_is_400_not_500(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="write")
    response = api.post("/api/posts/create/", "not json", "application/json", **bearer(token.access_token))
    assert response.status_code == 400
    assert Post.objects.count() == 0


def test_string_scope_is_one_scope_not_its_characters(api, user, oauth_client, make_token):
    # authlib would iterate 'profile' and accept a token holding just "p".
    token = make_token(user, oauth_client, scope="p r o f i l e")
    response = api.get("/api/user/", **bearer(token.access_token))
    assert response.status_code == 403


def test_token_in_the_url_is_refused(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="profile")
    response = api.get(f"/api/user/?access_token={token.access_token}")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    both = api.get(f"/api/user/?access_token={token.access_token}", **bearer(token.access_token))
    assert both.status_code == 400
    assert 'error="invalid_request"' in both["WWW-Authenticate"]


def test_malformed_tokens_never_reach_the_database(api, oauth_client, django_assert_num_queries):
    for value in ("a b", "tok\x00en", "é", "x" * 5000, ""):
        request = RequestFactory().get("/api/user/", HTTP_AUTHORIZATION=f"Bearer {value}")
        with django_assert_num_queries(0):
            token = require_oauth.acquire_token(request, raise_error=False)
        assert token is None, value


@pytest.mark.parametrize("authorization", ["Basic Zm9vOmJhcg==", "Bearer", "Token abc", "bearer-ish abc"])
def test_other_scheme_gets_the_bearer_challenge(api, authorization):
    response = api.get("/api/user/", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="testserver"'
    # The body says what to send instead (it was a bare {"error": "unsupported_token_type"}).
    assert "Authorization: Bearer" in response.json()["error_description"]


# --- optional protection ---------------------------------------------------------------------


def test_optional_without_token_is_anonymous(api, user):
    Post.objects.create(author=user, title="Featured", content="x", public=True, featured=True)
    Post.objects.create(author=user, title="Plain", content="x", public=True)
    response = api.get("/api/public/")
    assert response.status_code == 200
    assert response.json()["message"] == "Hello anonymous user"
    assert [p["title"] for p in response.json()["posts"]] == ["Featured"]


def test_optional_with_token_is_personal(api, user, oauth_client, make_token):
    Post.objects.create(author=user, title="Featured", content="x", public=True, featured=True)
    Post.objects.create(author=user, title="Plain", content="x", public=True)
    token = make_token(user, oauth_client, scope="profile")
    response = api.get("/api/public/", **bearer(token.access_token))
    assert response.json()["message"] == "Hello bob"
    assert len(response.json()["posts"]) == 2


def test_optional_with_a_bad_token_is_still_refused(api):
    response = api.get("/api/public/", **bearer("bad-token"))
    assert response.status_code == 401


# --- acquire_token ---------------------------------------------------------------------------


def test_acquire_token_is_cached_on_the_request(
    user, oauth_client, make_token, django_assert_num_queries, package_signals_only
):
    token = make_token(user, oauth_client, scope="profile read")
    request = RequestFactory().get("/x", **bearer(token.access_token))
    with django_assert_num_queries(1):
        first = require_oauth.acquire_token(request, ["profile"])
        second = require_oauth.acquire_token(request)
        third = require_oauth.acquire_token(request, "read")
    assert first == second == third == token


def test_view_acquiring_again_costs_no_lookup(
    api, user, oauth_client, make_token, django_assert_num_queries, package_signals_only
):
    token = make_token(user, oauth_client, scope="read")
    # One query finds the token (the decorator), one lists the posts; the view's own
    # acquire_token is served from the request.
    with django_assert_num_queries(2):
        response = api.get("/api/posts/", **bearer(token.access_token))
    assert response.status_code == 200


def test_acquire_token_checks_scopes_even_when_cached(user, oauth_client, make_token):
    from server.oauth2.errors import InsufficientScopeError

    token = make_token(user, oauth_client, scope="profile")
    request = RequestFactory().get("/x", **bearer(token.access_token))
    assert require_oauth.acquire_token(request, "profile") == token
    with pytest.raises(InsufficientScopeError):
        require_oauth.acquire_token(request, "write")
    assert require_oauth.acquire_token(request, "write", raise_error=False) is None


def test_validate_request_takes_the_request_first(user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="profile")
    request = RequestFactory().get("/x", **bearer(token.access_token))
    assert require_oauth.validate_request(request, ["profile"]) == token


def test_token_authenticated_is_sent_once_per_request(api, user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="read")
    seen = []

    def receiver(sender, **kwargs):
        seen.append(kwargs)

    token_authenticated.connect(receiver)
    try:
        api.get("/api/posts/", **bearer(token.access_token))
        api.get("/api/posts/", **bearer("bad-token"))
    finally:
        token_authenticated.disconnect(receiver)
    assert len(seen) == 1
    assert seen[0]["token"] == token
    assert seen[0]["request"].path == "/api/posts/"


# --- decorator forms and validator hooks -----------------------------------------------------


def _view(request, *args, **kwargs):
    token = request.oauth_token
    return JsonResponse({"token": token.pk if token else None})


def _call(view, token_string=None, **extra):
    headers = bearer(token_string) if token_string else {}
    return view(RequestFactory().get("/x", **headers, **extra))


def test_any_of_scope_lists(user, oauth_client, make_token):
    protector = ResourceProtector(BearerTokenValidator(Token))
    view = protector(["admin", "read"])(_view)
    both = protector(["profile read"])(_view)
    token = make_token(user, oauth_client, scope="read")
    assert _call(view, token.access_token).status_code == 200  # read is enough
    assert _call(both, token.access_token).status_code == 403  # "profile read" needs both
    full = make_token(user, oauth_client, scope="profile read")
    assert _call(both, full.access_token).status_code == 200


def test_decorator_without_scopes_and_without_parentheses(user, oauth_client, make_token):
    protector = ResourceProtector(BearerTokenValidator(Token))
    token = make_token(user, oauth_client, scope="")
    for view in (protector()(_view), protector(_view)):
        assert _call(view, token.access_token).status_code == 200
        assert _call(view).status_code == 401


def test_constructor_accepts_a_validator_class(user, oauth_client, make_token):
    class TokenValidator(BearerTokenValidator):
        def __init__(self):
            super().__init__(Token, realm="photos")

    protector = ResourceProtector(TokenValidator)
    response = _call(protector("profile")(_view))
    assert response["WWW-Authenticate"] == 'Bearer realm="photos"'


def test_class_based_view_methods_can_be_protected(user, oauth_client, make_token):
    protector = ResourceProtector(BearerTokenValidator(Token))

    class Profile(View):
        @protector("profile")
        def get(self, request):
            return JsonResponse({"user": request.oauth_token.user.username})

    token = make_token(user, oauth_client, scope="profile")
    response = Profile.as_view()(RequestFactory().get("/x", **bearer(token.access_token)))
    assert response.status_code == 200


def test_default_validator_uses_the_token_model(user, oauth_client, make_token):
    protector = ResourceProtector(BearerTokenValidator(Token))
    view = protector("profile")(_view)
    token = make_token(user, oauth_client, scope="profile")
    assert _call(view, token.access_token).status_code == 200
    Token.objects.filter(pk=token.pk).update(revoked=True)  # default token_revoked: is_revoked()
    assert _call(view, token.access_token).status_code == 401


class RecordingValidator(BearerTokenValidator):
    """Every spec hook overridden; each answer comes from the test."""

    def __init__(self, **answers):
        super().__init__(Token, realm="hooks")
        self.answers = answers
        self.calls = []

    def authenticate_token(self, token_string):
        self.calls.append("authenticate_token")
        return self.answers["token"] if token_string == "magic" else None

    def token_expired(self, token):
        self.calls.append("token_expired")
        return self.answers.get("expired", False)

    def token_revoked(self, token):
        self.calls.append("token_revoked")
        return self.answers.get("revoked", False)

    def request_invalid(self, request):
        self.calls.append("request_invalid")
        return self.answers.get("invalid", False)

    def get_token_scopes(self, token):
        self.calls.append("get_token_scopes")
        return self.answers.get("scopes", [])


@pytest.mark.parametrize(
    ("answers", "status", "error"),
    [
        ({}, 200, None),
        ({"expired": True}, 401, "invalid_token"),
        ({"revoked": True}, 401, "invalid_token"),
        ({"invalid": True}, 400, "invalid_request"),
        ({"scopes": ["profile"]}, 403, "insufficient_scope"),
    ],
)
def test_every_validator_hook_is_honoured(user, oauth_client, make_token, answers, status, error):
    # A token whose own state says the opposite of the hooks: the hooks decide.
    token = make_token(user, oauth_client, scope="profile")
    answers = {"scopes": ["admin"], **answers, "token": token}
    validator = RecordingValidator(**answers)
    protector = ResourceProtector(validator)
    response = _call(protector("admin")(_view), "magic")
    assert response.status_code == status
    if error:
        assert json.loads(response.content)["error"] == error
    assert validator.calls[0] == "authenticate_token"
    if status == 200:
        assert validator.calls == [
            "authenticate_token",
            "token_expired",
            "token_revoked",
            "request_invalid",
            "get_token_scopes",
        ]


def test_authenticate_token_override_decides_what_exists(user, oauth_client, make_token):
    token = make_token(user, oauth_client, scope="admin")
    validator = RecordingValidator(token=token, scopes=["admin"])
    view = ResourceProtector(validator)("admin")(_view)
    assert _call(view, token.access_token).status_code == 401  # the real string is unknown to it
    assert _call(view, "magic").status_code == 200
