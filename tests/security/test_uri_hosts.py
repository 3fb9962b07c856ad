"""The host of every client-supplied URL: a name, an IPv4 address or a bracketed IPv6 address
(`server.policy_rules.invalid_host`), at every door, with a message that says what a host may be.

The output-side review found `https://rp.example.com;sandbox/cb` accepted as a redirect URI and
copied into a Content-Security-Policy header (`;` ends a directive, `,` starts another policy, `'`
quotes a keyword); `server/csp_sources.py` stopped it on the way out. This is the input side: the
one policy refuses such a host in redirect, post-logout and logout URIs, the pages a client links
to, its key and sector URLs, webhook URLs and API identifiers; a row stored before it is not
matched (`usable_redirect_uris`) and its pages still render.
"""

import csv
import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient
from django.urls import reverse

from server import api_policy, policies, services
from server.models import Api, Client
from server.policy_rules import HOST_RULE, invalid_host
from tests.console.api.conftest import api_with, assert_problem, web_client
from tests.server.helpers import pkce_pair, register_with_token

SEMICOLON = "https://rp.example.com;sandbox/cb"
RDR = {"field": "redirect_uris", "code": "invalid_redirect_uri"}

# --- the rule ---------------------------------------------------------------------------------

ACCEPTED_HOSTS = [
    "rp.example.com",
    "RP.Example.COM:8443",
    "localhost",  # single-label names are registered names (RFC 3986 reg-name)
    "intranet:3000",
    "3com.example",  # a label may start with a digit (RFC 1123 §2.1)
    "xn--bcher-kva.example",  # an A-label
    "bücher.example",  # its U-label, kept as written: redirect URIs match exactly
    "rp.example.com.",  # absolute form of the same name: one trailing dot
    "a" * 63 + ".example",
    ".".join(["a" * 63] * 3 + ["a" * 61]),  # 253 characters
    "127.0.0.1",
    "192.0.2.1:443",
    "1.2.3.4.example.com",  # the last label is not a number: a name
    "[::1]",
    "[2001:db8::1]:8443",
    "",  # no host: the callers say whether one is needed
]
REFUSED_HOSTS = [
    "rp.example.com;sandbox",
    "rp.example.com,evil",
    "rp.example.com'unsafe-inline'",
    "rp.example.com!",
    "rp$.example.com",
    "rp(1).example.com",
    "rp+x.example.com",
    "rp=x.example.com",
    "rp~x.example.com",
    "rp_internal.example.com",  # no CSP host-source or public certificate can name it
    "rp%2eexample.com",  # a browser decodes it: another host than the one shown
    "rp%3bsandbox.example.com",
    "a..b.example",
    ".rp.example.com",
    "rp.example.com..",
    ".",
    "-rp.example.com",
    "rp-.example.com",
    "a" * 64 + ".example",
    ".".join(["a" * 63] * 3 + ["a" * 62]),  # 254 characters
    "127.1",  # read by browsers as 127.0.0.1 (WHATWG URL: it ends in a number)
    "2130706433",
    "0x7f.0.0.1",
    "0177.0.0.1",
    "1.2.3.4.5",
    "example.123",
    "127.0.0.1.",
    "[::1]evil.example",
    "[fe80::1%25eth0]",  # a zone id names one of our interfaces, nothing of the client's
    "[v1.fe]",  # IPvFuture
    "[127.0.0.1]",
    "rp\u3002example.com",  # an ideographic full stop: a dot to a browser (UTS #46)
    "\uff52\uff50.example.com",  # fullwidth "rp": a look-alike of a plain ASCII name
    "a:b:443",
]


@pytest.mark.parametrize("netloc", ACCEPTED_HOSTS)
def test_a_name_an_ipv4_or_a_bracketed_ipv6_address_is_a_host(netloc):
    assert invalid_host(netloc) is None


@pytest.mark.parametrize("netloc", REFUSED_HOSTS)
def test_anything_else_is_not(netloc):
    assert invalid_host(netloc) is not None


def test_an_underscore_only_in_a_private_use_schemes_authority():
    assert invalid_host("oauth_callback", private_use=True) is None
    assert invalid_host("oauth_callback") == "oauth_callback"
    assert invalid_host("cb;sandbox", private_use=True) == "cb;sandbox"


@pytest.mark.parametrize(
    "uri",
    [
        SEMICOLON,
        "https://rp.example.com,evil/cb",
        "https://rp_internal.example.com/cb",
        "https://rp%2eexample.com/cb",
        "https://a..b.example/cb",
        "https://127.1/cb",
        "https://[::1]evil.example/cb",
        "com.example.app://cb;sandbox/x",
    ],
)
def test_a_redirect_uri_whose_host_is_not_one_is_refused_saying_what_a_host_may_be(uri):
    with pytest.raises(policies.PolicyError) as refused:
        policies.validate_redirect_uri(uri)
    assert (refused.value.field, refused.value.code) == tuple(RDR.values())
    assert str(refused.value).endswith(f"is not valid; {HOST_RULE}."), str(refused.value)
    assert policies.usable_redirect_uris([uri, "https://rp.example.com/cb"]) == ["https://rp.example.com/cb"]


def test_the_message_names_the_uri_and_its_host():
    with pytest.raises(policies.PolicyError) as refused:
        policies.validate_redirect_uri(SEMICOLON)
    assert str(refused.value) == (
        "https://rp.example.com;sandbox/cb: the host rp.example.com;sandbox is not valid; a host is a "
        "name of letters, digits, hyphens and dots (labels of 1 to 63 characters, no hyphen at either "
        "end), an IPv4 address (192.0.2.1) or an IPv6 address in brackets ([2001:db8::1])."
    )


@pytest.mark.parametrize(
    "uri",
    [
        "com.example.app:/callback",  # RFC 8252 §7.1: no host
        "com.example.app:///callback",
        "com.example.app://oauth_callback/",
        "https://intranet/cb",
        "https://bücher.example/cb",
        "https://xn--bcher-kva.example/cb",
        "https://rp.example.com./cb",
        "http://localhost:8080/cb",
        "http://127.0.0.1:51234/cb",
        "http://[::1]:51234/cb",
    ],
)
def test_redirect_uris_with_hosts_or_without_one_still_pass_as_written(uri):
    assert policies.validate_redirect_uri(uri) == uri


@pytest.mark.parametrize("field", [*policies.CLIENT_WEB_URI_FIELDS, "jwks_uri", "sector_identifier_uri"])
def test_a_web_uri_whose_host_is_not_one_names_it_and_the_rule(field):
    with pytest.raises(policies.PolicyError) as refused:
        policies.validate_web_uri("https://rp.example.com;sandbox/about", field=field)
    assert refused.value.field == field
    assert str(refused.value) == f"This URL's host (rp.example.com;sandbox) is not valid; {HOST_RULE}."
    # Before, Django's URLValidator refused it without saying why, and took an IDN as it does now.
    assert policies.validate_web_uri("https://münchen.example/", field=field) == "https://münchen.example/"


def test_the_logout_uris_a_webhook_and_an_api_identifier_are_held_to_it():
    refusals = {}
    for field, check in [
        ("post_logout_redirect_uris", lambda: policies.validate_post_logout_redirect_uris([SEMICOLON])),
        ("backchannel_logout_uri", lambda: policies.validate_backchannel_logout_uri(SEMICOLON)),
        (
            "frontchannel_logout_uri",
            lambda: policies.validate_frontchannel_logout_uri(SEMICOLON, [SEMICOLON]),
        ),
        ("url", lambda: policies.validate_webhook_url("https://hooks_in.example.com/in")),
        ("identifier", lambda: api_policy.validate_api_identifier("https://orders.example.com,x/")),
    ]:
        with pytest.raises(policies.PolicyError) as refused:
            check()
        refusals[field] = (refused.value.field, HOST_RULE in str(refused.value))
    assert refusals == {field: (field, True) for field in refusals}


# --- every door: the clear error --------------------------------------------------------------


METADATA = {"client_name": "RP", "redirect_uris": ["https://rp.example.com/cb"], "scope": "profile"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change, error, starts",
    [
        ({"redirect_uris": [SEMICOLON]}, "invalid_redirect_uri", SEMICOLON + ": the host"),
        (
            {"post_logout_redirect_uris": [SEMICOLON]},
            "invalid_client_metadata",
            "post_logout_redirect_uris: ",
        ),
        ({"client_uri": "https://rp.example.com,x/"}, "invalid_client_metadata", "client_uri: "),
        ({"backchannel_logout_uri": SEMICOLON}, "invalid_client_metadata", "backchannel_logout_uri: "),
    ],
)
def test_rfc7591_answers_the_rfcs_error_with_a_description_of_the_host_rule(
    client, initial_access_token, change, error, starts
):
    response = register_with_token(client, {**METADATA, **change}, initial_access_token)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == error
    assert body["error_description"].startswith(starts), body
    assert "host" in body["error_description"] and "letters, digits, hyphens" in body["error_description"]
    assert not Client.objects.exists()


@pytest.fixture
def ops(operator) -> HttpClient:
    http = HttpClient()
    http.force_login(operator)
    return http


def test_the_portal_and_the_admin_show_a_field_error(ops, django_user_model):
    developer = django_user_model.objects.create_user("dana", "dana@example.com", "dana-password-123")
    dev = HttpClient()
    dev.force_login(developer)
    portal = dev.post(
        "/developers/apps/new/",
        {
            "name": "Weather",
            "redirect_uris": SEMICOLON,
            "client_type": "confidential",
            "grant_types": ["authorization_code"],
            "scope": ["profile"],
        },
    )
    admin = ops.post(
        reverse("admin:server_client_add"),
        {
            "name": "Billing",
            "client_type": "confidential",
            "redirect_uris": "https://billing.example.com/cb",
            "client_uri": "https://billing_app.example.com/",
            "grant_types": ["authorization_code"],
            "scope": ["profile"],
        },
    )
    portal_errors = " ".join(portal.context["form"].errors["redirect_uris"])
    admin_errors = " ".join(admin.context["form"].errors["client_uri"])
    assert HOST_RULE in portal_errors and "rp.example.com;sandbox" in portal_errors
    assert HOST_RULE in admin_errors and "billing_app.example.com" in admin_errors
    assert not Client.objects.exists()


def test_the_import_reports_a_row_error(ops):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["client_id", "name", "client_type", "redirect_uris", "grant_types", "scope"])
    writer.writerow(
        ["good", "Good", "confidential", "https://a.example.com/cb", "authorization_code", "profile"]
    )
    writer.writerow(["bad", "Bad", "confidential", SEMICOLON, "authorization_code", "profile"])
    upload = SimpleUploadedFile("clients.csv", buffer.getvalue().encode(), content_type="text/csv")
    response = ops.post(
        reverse("admin:server_client_import"), {"import_file": upload, "format": "0", "resource": "0"}
    )
    result = response.context["result"]
    assert [row.number for row in result.invalid_rows] == [2]
    assert HOST_RULE in " ".join(result.invalid_rows[0].error_dict["redirect_uris"])
    assert not Client.objects.exists()


@pytest.mark.django_db
def test_the_operator_api_answers_a_problem_naming_the_field():
    api = api_with(["console:clients:write"])
    body = assert_problem(api.post("/api/v1/clients", web_client(redirect_uris=[SEMICOLON])), 400)
    assert HOST_RULE in json.dumps(body["errors"]["redirect_uris"]), body
    assert not Client.objects.filter(name="Billing portal").exists()


def test_the_api_form_and_the_webhook_form_show_a_field_error(ops):
    api = ops.post(
        "/admin/server/api/add/",
        {
            "identifier": "https://orders.example.com;x/",
            "name": "Orders",
            "scopes_text": "orders:read: Read",
            "token_format": "opaque",
            "access_token_lifetime": "",
        },
    )
    hook = ops.post(
        "/admin/webhooks/subscription/add/",
        {"name": "Hook", "url": "https://hooks_in.example.com/in", "event_types": ["client_created"]},
    )
    assert HOST_RULE in " ".join(api.context["adminform"].form.errors["identifier"])
    assert HOST_RULE in " ".join(hook.context["form"].errors["url"])
    assert not Api.objects.filter(is_default=False).exists()


# --- a row stored before the rule -------------------------------------------------------------


def test_a_stored_uri_the_rule_refuses_is_never_redirected_to_and_its_pages_render(
    ops, make_client, end_user, django_user_model
):
    developer = django_user_model.objects.create_user("dana", "dana@example.com", "dana-password-123")
    client, _secret = make_client("Legacy", owner=developer)
    Client.objects.filter(pk=client.pk).update(
        redirect_uris=f"https://rp.example.com/cb\n{SEMICOLON}",
        post_logout_redirect_uris=SEMICOLON,
        client_uri="https://rp_site.example.com/",
    )
    client.refresh_from_db()
    assert not client.check_redirect_uri(SEMICOLON) and client.check_redirect_uri("https://rp.example.com/cb")
    assert not client.check_post_logout_redirect_uri(SEMICOLON)

    browser = HttpClient()
    browser.force_login(end_user)
    _verifier, challenge = pkce_pair()
    query = {"response_type": "code", "client_id": client.client_id, "redirect_uri": SEMICOLON}
    query.update(scope="profile", state="s", code_challenge=challenge, code_challenge_method="S256")
    refused = browser.get("/oauth/authorize", query, secure=True)
    assert refused.status_code == 400 and "Location" not in refused
    assert "sandbox" not in refused.get("Content-Security-Policy", "")

    dev = HttpClient()
    dev.force_login(developer)
    services.record_consent(user=end_user, client=client, scope="profile")
    for where, response in {
        "portal detail": dev.get(reverse("portal:client_detail", args=[client.client_id])),
        "admin change": ops.get(reverse("admin:server_client_change", args=[client.pk])),
        "account apps": browser.get("/account/apps/"),
    }.items():
        assert response.status_code == 200, where
        assert 'href="https://rp_site.example.com/"' not in response.content.decode(), where
