"""The WSGI application's request class (oauth_console.wsgi_requests): Django's, with the scheme
and the allowed host kept once worked out. The same answers as Django's request, for every
proxy header and host; a host that is not allowed is refused on every call."""

import io
import sys

import pytest
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest

from oauth_console.wsgi_requests import Handler, Request


def environ(**extra) -> dict:
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/oauth/jwks",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "wsgi.url_scheme": extra.pop("url_scheme", "http"),
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        **extra,
    }


@pytest.mark.parametrize("proxy_header", [None, ("HTTP_X_FORWARDED_PROTO", "https")])
@pytest.mark.parametrize("forwarded", [None, "https", "http", "https, http", " https ", "HTTPS"])
@pytest.mark.parametrize("url_scheme", ["http", "https"])
def test_the_scheme_is_djangos(settings, proxy_header, forwarded, url_scheme):
    settings.SECURE_PROXY_SSL_HEADER = proxy_header
    extra = {"url_scheme": url_scheme} | ({"HTTP_X_FORWARDED_PROTO": forwarded} if forwarded else {})
    ours, django_s = Request(environ(**extra)), WSGIRequest(environ(**extra))
    for _ in range(2):
        assert (ours.scheme, ours.is_secure()) == (django_s.scheme, django_s.is_secure())


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8443", "auth.example.com", "evil.example.org", "bad host", "[::1]:80"]
)
@pytest.mark.parametrize("forwarded_host", [False, True])
def test_the_host_is_djangos_and_a_disallowed_one_is_refused_every_time(settings, host, forwarded_host):
    settings.ALLOWED_HOSTS = ["127.0.0.1", ".example.com", "[::1]"]
    settings.USE_X_FORWARDED_HOST = forwarded_host
    extra = {"HTTP_HOST": host}
    if forwarded_host:
        extra = {"HTTP_X_FORWARDED_HOST": host, "HTTP_HOST": "127.0.0.1"}
    ours, django_s = Request(environ(**extra)), WSGIRequest(environ(**extra))
    try:
        expected = django_s.get_host()
    except DisallowedHost:
        for _ in range(2):
            with pytest.raises(DisallowedHost):
                ours.get_host()
        return
    assert ours.get_host() == ours.get_host() == expected


@pytest.mark.django_db(transaction=True)  # the real handler closes connections as it ends
def test_the_served_application_uses_it_and_works_out_the_scheme_once(monkeypatch):
    from django.conf import LazySettings
    from django.utils.functional import LazyObject

    from oauth_console.wsgi import application

    assert isinstance(application, Handler) and application.request_class is Request
    names, original = [], LazyObject.__getattribute__

    def read(self, name):
        if type(self) is LazySettings:
            names.append(name)
        return original(self, name)

    monkeypatch.setattr(LazyObject, "__getattribute__", read)
    answer = []
    body = application(
        environ(HTTP_HOST="testserver", HTTP_X_FORWARDED_PROTO="https", url_scheme="https"),
        lambda status, headers, exc_info=None: answer.append(status),
    )
    b"".join(body)
    body.close()
    assert answer and answer[0].startswith("200"), answer
    # SecurityMiddleware asks twice (the request's redirect, the response's HSTS): read once.
    assert names.count("SECURE_PROXY_SSL_HEADER") <= 2
