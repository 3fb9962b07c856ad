"""The relying party's pages: a home page that says who is signed in, and the library's URLs."""

import jwt
from django.http import HttpResponse
from django.urls import include, path, reverse
from django.utils.html import format_html


def home(request):
    if request.user.is_authenticated:
        # Already verified by the library's backend (signature, nonce); read here only to show sub.
        id_token = request.session.get("oidc_id_token", "")
        sub = jwt.decode(id_token, options={"verify_signature": False}).get("sub", "") if id_token else ""
        body = format_html(
            '<p id="who">Signed in as <span id="email">{}</span> (sub <span id="sub">{}</span>)</p>',
            request.user.email,
            sub,
        )
    else:
        failed = format_html('<p id="failed">Sign-in failed</p>') if request.GET.get("failed") else ""
        body = format_html(
            '{}<p><a id="sign-in" href="{}">Sign in with oauth-console</a></p>',
            failed,
            reverse("oidc_authentication_init"),
        )
    return HttpResponse(format_html("<!doctype html><title>Relying party</title><h1>RP</h1>{}", body))


urlpatterns = [
    path("", home, name="home"),
    path("oidc/", include("mozilla_django_oidc.urls")),
]
