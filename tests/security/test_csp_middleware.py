"""The CSP middleware's built-once header is django-csp's header, and a response that needs its
own (a nonce, a view's policy, an exemption) still gets django-csp's own treatment."""

import pytest
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory

from oauth_console import csp_middleware
from oauth_console.csp_middleware import CSPMiddleware

HEADER = "Content-Security-Policy"


def both(make_response, path="/oauth/token", prepare=None):
    """(ours, django-csp's) responses to the same request."""
    answers = []
    for middleware_class in (CSPMiddleware, DjangoCSPMiddleware):
        request = RequestFactory().get(path)
        middleware = middleware_class(lambda request: make_response())
        middleware.process_request(request)
        if prepare:
            prepare(request)
        answers.append(middleware.process_response(request, make_response()))
    return answers


def test_a_json_answer_gets_the_settings_policy_unchanged():
    ours, theirs = both(lambda: JsonResponse({"access_token": "x"}))
    assert ours[HEADER] == theirs[HEADER]
    assert "default-src 'self'" in ours[HEADER] and "nonce" not in ours[HEADER]


def test_the_header_is_built_once(monkeypatch):
    csp_middleware._settings_policies.cache_clear()
    built = []
    real = csp_middleware.build_policy
    monkeypatch.setattr(csp_middleware, "build_policy", lambda **kw: built.append(kw) or real(**kw))
    for _ in range(3):
        both(lambda: JsonResponse({}))
    assert len(built) == 2  # the policy and the report-only one, once


def test_a_page_with_a_nonce_gets_its_nonce():
    nonce = {}

    def use_nonce(request):
        nonce[id(request)] = str(request.csp_nonce)

    ours, theirs = both(HttpResponse, path="/console/", prepare=use_nonce)
    assert "'nonce-" in ours[HEADER]
    assert ours[HEADER].replace(ours[HEADER].split("'nonce-")[1].split("'")[0], "N") == theirs[
        HEADER
    ].replace(theirs[HEADER].split("'nonce-")[1].split("'")[0], "N")


@pytest.mark.parametrize(
    ("attribute", "value", "present"),
    [
        ("_csp_exempt", True, False),
        ("_csp_replace", {"form-action": ["https://rp.example"]}, True),
        ("_csp_update", {"img-src": ["https://img.example"]}, True),
    ],
)
def test_a_response_with_a_policy_of_its_own_is_django_csps(attribute, value, present):
    def make():
        response = HttpResponse()
        setattr(response, attribute, value)
        return response

    ours, theirs = both(make)
    assert (HEADER in ours) is present
    assert ours.get(HEADER) == theirs.get(HEADER)


def test_a_header_already_set_is_kept():
    def make():
        response = HttpResponse()
        response[HEADER] = "default-src 'none'"
        return response

    ours, _ = both(make)
    assert ours[HEADER] == "default-src 'none'"


def test_a_changed_setting_changes_the_header(settings):
    before, _ = both(lambda: JsonResponse({}))
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}
    after, theirs = both(lambda: JsonResponse({}))
    assert after[HEADER] == theirs[HEADER] == "default-src 'none'" != before[HEADER]


def test_a_nonce_asked_for_after_the_header_is_refused():
    from csp.exceptions import CSPNonceError

    request = RequestFactory().get("/oauth/token")
    middleware = CSPMiddleware(lambda request: JsonResponse({}))
    middleware.process_request(request)
    middleware.process_response(request, JsonResponse({}))
    with pytest.raises(CSPNonceError):
        str(request.csp_nonce)
