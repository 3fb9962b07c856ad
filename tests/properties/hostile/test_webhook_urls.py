"""The hostile-values matrix's row for webhook subscriptions: a URL the server will POST to, sent
through every door that writes one (the services, the console's form, the operator API), is
refused by the one policy (`server.policies.validate_webhook_url`) with nothing written; so is a
name with a line break, tab, other Unicode space, control, bidi or zero-width character (the one
display-name rule clients and APIs pass too); a name stored through the doors is inert on the
console's pages."""

import pytest
from django.test import Client as HttpClient

from oauth_console.audit.models import AuditEvent
from oauth_console.webhooks import services
from oauth_console.webhooks.models import Subscription
from server.actors import Actor
from server.policies import PolicyError
from tests.console.api.conftest import api_with

from .values import HOSTILE_DISPLAY_NAMES, HOSTILE_TEXT, HOSTILE_WEBHOOK_URLS

pytestmark = pytest.mark.django_db

LIST = "/admin/webhooks/subscription/"


GOOD_URL = "https://hooks.example.com/in"


def through_services(url: str, world, name: str = "x") -> int:
    with pytest.raises(PolicyError):
        services.create_subscription(
            name=name, url=url, event_types=["client_created"], actor=Actor.system("t")
        )
    return 400


def through_the_console(url: str, world, name: str = "x") -> int:
    return (
        world["ops"]
        .post(LIST + "add/", {"name": name, "url": url, "event_types": ["client_created"]})
        .status_code
    )


def through_the_api(url: str, world, name: str = "x") -> int:
    body = {"name": name, "url": url, "event_types": ["client_created"]}
    return world["api"].post("/api/v1/webhooks", body).status_code


DOORS = {"services": through_services, "console": through_the_console, "api": through_the_api}


@pytest.fixture
def world(django_user_model):
    operator = django_user_model.objects.create_superuser("w-root", "root@example.com", "root-pw-123456")
    ops = HttpClient()
    ops.force_login(operator)
    return {"ops": ops, "api": api_with(["console:webhooks:write"])}


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("url", HOSTILE_WEBHOOK_URLS, ids=[repr(u[:24]) for u in HOSTILE_WEBHOOK_URLS])
def test_every_door_refuses_a_hostile_webhook_url(world, door, url):
    events_before = AuditEvent.objects.count()
    assert DOORS[door](url, world) == 400
    assert not Subscription.objects.exists()
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("name", HOSTILE_DISPLAY_NAMES, ids=[repr(n) for n in HOSTILE_DISPLAY_NAMES])
def test_every_door_refuses_a_webhook_name_with_breaks_or_invisible_characters(world, door, name):
    events_before = AuditEvent.objects.count()
    assert DOORS[door](GOOD_URL, world, name) == 400
    assert not Subscription.objects.exists()
    assert AuditEvent.objects.count() == events_before


def test_one_display_name_rule_for_clients_apis_and_webhooks():
    """The three names refuse the same characters with the same words: one rule, three labels."""
    from server import api_policy, policies

    for name in HOSTILE_DISPLAY_NAMES:
        refusals = []
        for rule in (policies.validate_client_name, api_policy.validate_api_name, services.validate_name):
            with pytest.raises(PolicyError) as refused:
                rule(name)
            refusals.append(str(refused.value).split(" cannot ", 1)[1])
        assert len(set(refusals)) == 1, refusals


@pytest.mark.parametrize("name", HOSTILE_TEXT[:8])
def test_a_stored_name_is_inert_on_the_pages(world, name):
    subscription, _ = services.create_subscription(
        name=name, url="https://hooks.example.com/in", event_types=["client_created"], actor=Actor.system("t")
    )
    for path in (LIST, f"{LIST}{subscription.pk}/change/", f"{LIST}{subscription.pk}/test/"):
        html = world["ops"].get(path).content.decode()
        assert "<script>alert(1)</script>" not in html and "<img src=x" not in html, path
