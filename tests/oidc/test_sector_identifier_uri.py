"""`sector_identifier_uri` (OIDC Core §8.1, OIDC Registration §2): fetched through the SSRF guard
from a real HTTPS server on loopback (the `https_server` fixture: its certificate is the CA bundle,
loopback an allowed network, as in the back-channel and webhook tests), it must be a JSON array
holding every redirect URI; its host is then the pairwise sector, shared by the clients that name
a document there. A refused document writes nothing and says what is wrong."""

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from server import policies, services
from server.actors import Actor
from server.claims import subject_for
from server.models import Client
from tests.oidc.conftest import sign_in_and_get_tokens, verify_id_token
from tests.server.helpers import REDIRECT_URI
from tests.server.test_registration_oidc_metadata import make_iat as registration_iat
from tests.server.test_registration_oidc_metadata import register

pytestmark = pytest.mark.django_db
make_iat = registration_iat  # the registration tests' fixture: an initial access token maker

OTHER_HOST_URI = "https://b.example.net/cb"
SCOPES = ["openid", "profile", "email"]
ACTOR = Actor.system("tests")


def serve(server, path: str, body, status: int = 200, headers=None):
    """Serve `body` (a JSON value, or bytes as they are) at `path`; the document's URL."""
    raw = body if isinstance(body, bytes) or callable(body) else json.dumps(body).encode()
    server.routes[path] = (status, headers or {"Content-Type": "application/json"}, raw)
    return server.url(path)


def pairwise(make_client, sector_uri: str, redirect_uris, name="Pairwise app"):
    return make_client(
        name,
        scope=SCOPES,
        subject_type="pairwise",
        redirect_uris=redirect_uris,
        sector_identifier_uri=sector_uri,
    )


def test_a_good_document_makes_its_host_the_sector(https_server, make_client):
    url = serve(https_server, "/sector.json", [REDIRECT_URI, OTHER_HOST_URI])
    client, _secret = pairwise(make_client, url, [REDIRECT_URI, OTHER_HOST_URI])
    assert (client.sector_identifier, client.sector_identifier_uri) == ("127.0.0.1", url)
    assert https_server.hits["/sector.json"] == 1


def _slow():
    time.sleep(2)
    return b"[]"


@pytest.mark.parametrize(
    "path, body, status, headers, says",
    [
        ("/missing.json", [REDIRECT_URI], 200, None, f"does not list {OTHER_HOST_URI}"),
        ("/text.json", b"<html>not json</html>", 200, None, "not a JSON document"),
        ("/object.json", {"redirect_uris": [REDIRECT_URI]}, 200, None, "JSON array of URIs"),
        ("/numbers.json", [1, 2], 200, None, "JSON array of URIs"),
        ("/big.json", [REDIRECT_URI, OTHER_HOST_URI, "https://x.example/" + "a" * 70000], 200, None, "larg"),
        ("/moved.json", b"", 302, {"Location": "/sector.json"}, "redirects are not followed"),
        ("/gone.json", b"no", 404, None, "answered 404"),
        ("/slow.json", _slow, 200, None, "did not answer in time"),
    ],
)
def test_a_bad_document_is_refused_clearly_and_nothing_is_written(
    https_server, make_client, settings, path, body, status, headers, says
):
    settings.OAUTH2_OUTBOUND_TIMEOUT = 0.5
    url = serve(https_server, path, body, status, headers)
    before = Client.objects.count()
    with pytest.raises(policies.PolicyError, match=says) as refused:
        pairwise(make_client, url, [REDIRECT_URI, OTHER_HOST_URI])
    assert refused.value.field == "sector_identifier_uri"
    assert Client.objects.count() == before


def test_the_ssrf_guard_refuses_loopback_without_the_allowance(https_server, make_client, settings):
    url = serve(https_server, "/sector.json", [REDIRECT_URI])
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(policies.PolicyError, match="private, loopback"):
        pairwise(make_client, url, [REDIRECT_URI])
    assert not https_server.hits, "never connected"


def test_only_https_is_taken(make_client):
    with pytest.raises(policies.PolicyError, match="https"):
        pairwise(make_client, "http://127.0.0.1/sector.json", [REDIRECT_URI])


def test_clients_that_share_a_sector_get_the_same_sub(https_server, make_client, browser, user):
    """Two clients on different hosts naming one document host: one sector, one `sub`, in the
    ID token and UserInfo alike; a pairwise client of the redirect host's own sector: another."""
    url = serve(https_server, "/sector.json", [REDIRECT_URI, OTHER_HOST_URI])
    first = pairwise(make_client, url, [REDIRECT_URI], name="First")
    second = pairwise(make_client, url, [OTHER_HOST_URI, REDIRECT_URI], name="Second")
    own = make_client("Own sector", scope=SCOPES, subject_type="pairwise", redirect_uris=[REDIRECT_URI])
    subs = []
    for client, secret in (first, second, own):
        tokens = sign_in_and_get_tokens(browser, client, secret)
        sub = verify_id_token(tokens["id_token"], client)["sub"]
        info = HttpClient().get("/oauth/userinfo", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
        assert info.json()["sub"] == sub == subject_for(user, client)
        subs.append(sub)
    assert subs[0] == subs[1], "one sector (127.0.0.1), one sub"
    assert subs[2] != subs[0] and str(user.pk) not in subs
    assert own[0].sector_identifier == "app.example.com"


def test_a_later_change_of_redirect_uris_is_checked_against_the_document_again(https_server, make_client):
    url = serve(https_server, "/sector.json", [REDIRECT_URI, OTHER_HOST_URI])
    client, _ = pairwise(make_client, url, [REDIRECT_URI])
    assert https_server.hits["/sector.json"] == 1
    # A URI the document does not list: refused after fetching it again, nothing changed.
    with pytest.raises(policies.PolicyError, match=r"does not list https://c\.example\.org/cb"):
        services.update_client(client, actor=ACTOR, redirect_uris=[REDIRECT_URI, "https://c.example.org/cb"])
    assert https_server.hits["/sector.json"] == 2
    client.refresh_from_db()
    assert client.redirect_uri_list == [REDIRECT_URI]
    # One it lists: fetched again, accepted.
    services.update_client(client, actor=ACTOR, redirect_uris=[REDIRECT_URI, OTHER_HOST_URI])
    assert https_server.hits["/sector.json"] == 3
    # The document's host down: other settings, and taking a redirect URI out, need no fetch.
    serve(https_server, "/sector.json", b"down", status=503)
    services.update_client(client, actor=ACTOR, name="Renamed")
    services.update_client(client, actor=ACTOR, redirect_uris=[OTHER_HOST_URI])
    assert https_server.hits["/sector.json"] == 3
    client.refresh_from_db()
    assert (client.name, client.redirect_uri_list) == ("Renamed", [OTHER_HOST_URI])
    # Adding one back while it is down: refused clearly.
    with pytest.raises(policies.PolicyError, match="answered 503"):
        services.update_client(client, actor=ACTOR, redirect_uris=[OTHER_HOST_URI, REDIRECT_URI])


def test_a_pairwise_client_keeps_its_sector(https_server, make_client):
    url = serve(https_server, "/sector.json", [REDIRECT_URI])
    client, _ = pairwise(make_client, url, [REDIRECT_URI])
    # The same document named by another host (localhost: the same server): another sector.
    elsewhere = url.replace("127.0.0.1", "localhost")
    with pytest.raises(policies.PolicyError, match=r"sector identifier is 127\.0\.0\.1"):
        services.update_client(client, actor=ACTOR, sector_identifier_uri=elsewhere)
    # Without the document, the redirect URIs' host (app.example.com) is another sector too.
    with pytest.raises(policies.PolicyError, match=r"sector identifier is 127\.0\.0\.1"):
        services.update_client(client, actor=ACTOR, sector_identifier_uri="")
    client.refresh_from_db()
    assert (client.sector_identifier, client.sector_identifier_uri) == ("127.0.0.1", url)


def test_registration_takes_it_answers_it_and_refuses_a_bad_one(https_server, client, make_iat):
    good = serve(https_server, "/sector.json", [REDIRECT_URI, OTHER_HOST_URI])
    response = register(
        client,
        make_iat,
        subject_type="pairwise",
        redirect_uris=[REDIRECT_URI, OTHER_HOST_URI],
        sector_identifier_uri=good,
    )
    assert response.status_code == 201, response.content
    assert response.json()["sector_identifier_uri"] == good
    assert Client.objects.get(client_id=response.json()["client_id"]).sector_identifier == "127.0.0.1"
    before = Client.objects.count()
    bad = serve(https_server, "/short.json", [REDIRECT_URI])
    response = register(
        client, make_iat, redirect_uris=[REDIRECT_URI, OTHER_HOST_URI], sector_identifier_uri=bad
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert f"does not list {OTHER_HOST_URI}" in response.json()["error_description"]
    assert Client.objects.count() == before


def test_discovery_advertises_pairwise(client):
    document = client.get("/.well-known/openid-configuration").json()
    assert document["subject_types_supported"] == ["public", "pairwise"]


def test_export_then_import_carries_it_and_reads_the_document_again(https_server, make_client, operator):
    """The export's column (policies.OIDC_METADATA_FIELDS) and the import's: a re-imported
    client is checked against the document again, through the same policy."""
    from tests.console.operator.test_import_export import confirm, export, preview

    url = serve(https_server, "/sector.json", [REDIRECT_URI, OTHER_HOST_URI])
    original, _ = pairwise(make_client, url, [REDIRECT_URI, OTHER_HOST_URI])
    ops = HttpClient()
    ops.force_login(operator)
    exported = export(ops, "csv", extra=("subject_type", "sector_identifier_uri"))
    assert url.encode() in exported
    Client.objects.all().delete()
    hits = https_server.hits["/sector.json"]
    response = preview(ops, SimpleUploadedFile("clients.csv", exported, content_type="text/csv"))
    assert not response.context["result"].has_validation_errors(), response.context["result"].invalid_rows
    confirm(ops, response)
    again = Client.objects.get(client_id=original.client_id)
    assert (again.sector_identifier_uri, again.sector_identifier) == (url, "127.0.0.1")
    assert https_server.hits["/sector.json"] > hits, "read again on import"
