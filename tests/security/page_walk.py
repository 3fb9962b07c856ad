"""The browser-facing pages walked by hostile values: every URL pattern of the project (the admin's
included), each path converter given values it should refuse, and every page's query string given
values its parameters should refuse, as each kind of user. Shared by test_hostile_pages.py."""

import re
from collections.abc import Iterator
from urllib.parse import quote

from django.apps import apps
from django.contrib.auth.models import Group
from django.test import Client as HttpClient
from django.urls import URLPattern, URLResolver, get_resolver

from oauth_console.audit import recorder
from oauth_console.webhooks import outbox
from oauth_console.webhooks import services as webhook_services
from server import services
from server.actors import Actor
from server.demo import SECURITY_GROUP
from server.models import ClientSecret

# A path segment a converter matches: not a number, a digit int() refuses ("²"), a digit of
# another script ("٣"), past the bigint range, negative, a NUL, a lone surrogate (its UTF-8
# bytes are not UTF-8: the server sees U+FFFD), very long. Percent-encoded as a browser sends it.
HOSTILE_SEGMENTS = [
    "x",
    quote("²"),
    quote("٣"),
    str(2**63),
    "9" * 30,
    "-1",
    "%00",
    "1%00",
    "%ED%A0%80",
    "a" * 3000,
]
# What an <int:...> converter matches: ASCII digits, some past every column's range.
HOSTILE_NUMBERS = ["0", str(2**63), "9" * 30]

# Every query parameter a page of this project reads (grep request.GET, the admin's own, the
# filters'), and a name nobody reads.
QUERY_NAMES = [
    "page", "p", "q", "o", "all", "e", "next", "_changelist_filters", "_popup", "_to_field",
    "term", "app_label", "model_name", "field_name", "client", "user", "user_code", "prompt",
    "status", "event_type", "outcome", "client_id", "username", "ip", "since", "until",
    "grant_type", "issued_at__gte", "kind", "format", "action", "index", "x",
]  # fmt: skip
# The ones a page reads itself (the admin lists' filters: tests/security/test_console_list_queries.py).
READ_BY_PAGES = [
    "page", "next", "_changelist_filters", "_to_field", "term", "app_label", "model_name",
    "field_name", "client", "user", "user_code", "prompt",
]  # fmt: skip
# Values already percent-encoded, as they arrive on the wire.
HOSTILE_QUERY_VALUES = [
    "0",
    "-1",
    "9" * 30,
    "x",
    quote("²"),
    quote("٣"),
    "%00",
    "a%00b",
    "%ED%A0%80",  # a lone surrogate's UTF-8 bytes
    "%FF",
    "a" * 5000,
]


def url_patterns(resolver: URLResolver | None = None, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    """(route, pattern) of every URL pattern, through every include."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from url_patterns(entry, prefix + str(entry.pattern))
        else:
            yield prefix + str(entry.pattern), entry


_PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def object_id(route: str) -> str | None:
    """The pk of a row of the admin model `route` is under (admin/<app>/<model>/...)."""
    parts = route.split("/")
    if len(parts) > 3 and parts[0] == "admin":
        try:
            model = apps.get_model(parts[1], parts[2])
        except (LookupError, ValueError):
            return None
        pk = model._default_manager.order_by("pk").values_list("pk", flat=True).first()
        return None if pk is None else str(pk)
    return None


# The people the admin's pages are walked as; everyone else is sent to sign in there before any
# query is read (the admin_view), so they walk the other pages.
ADMIN_WALKERS = ("operator", "security analyst")


def routes_for(role: str, good: dict[str, str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Each route `role` walks, with the values to fill it: `good`, and where the route is an
    admin object's, the pk of one of its rows."""
    for route, _pattern in url_patterns():
        if route.startswith("admin/") and role not in ADMIN_WALKERS:
            continue
        values = {**good}
        if (pk := object_id(route)) is not None:
            values["object_id"] = pk
        yield route, values


def fill(route: str, values: dict[str, str]) -> str | None:
    """`route` with each <converter:name> replaced by values[name]; None for a regex route."""
    if route.startswith("^") or "(?P<" in route or route.endswith("$"):
        return None
    return "/" + _PARAMETER.sub(lambda m: values[m.group(2)], route)


def parameters(route: str) -> list[tuple[str, str]]:
    """(converter, name) of each parameter of `route` ("str" when none is named)."""
    return [(kind or "str", name) for kind, name in _PARAMETER.findall(route)]


def hostile_paths(route: str, good: dict[str, str]) -> Iterator[str]:
    """`route` with one parameter at a time given every hostile value, the others good ones."""
    for kind, name in parameters(route):
        for value in HOSTILE_NUMBERS if kind == "int" else HOSTILE_SEGMENTS:
            url = fill(route, {**good, name: value})
            if url is not None:
                yield url


def hostile_queries() -> Iterator[str]:
    """Query strings: every name at once with one hostile value, each name repeated, each name
    alone with the values int() and the database refuse."""
    for value in HOSTILE_QUERY_VALUES:
        yield "&".join(f"{name}={value}" for name in QUERY_NAMES)
    yield "&".join(f"{name}=1&{name}=x&{name}=%00" for name in QUERY_NAMES)
    for name in READ_BY_PAGES:
        for value in (quote("²"), "9" * 30, "%00"):
            yield f"{name}={value}"


# --- who walks, and what there is to see -----------------------------------------------------------


def people(django_user_model) -> dict[str, HttpClient]:
    """A browser for each kind of user: anonymous, an end user, a developer (owns an app), an
    operator (superuser) and a security analyst (staff in the security group)."""
    make = django_user_model.objects.create_user
    users = {
        "end user": make("w-alice", "alice@example.com", "pw-alice-123456"),
        "developer": make("w-dana", "dana@example.com", "pw-dana-1234567"),
        "operator": django_user_model.objects.create_superuser("w-root", "root@x.example", "pw-root-123456"),
        "security analyst": make("w-sam", "sam@example.com", "pw-sam-12345678", is_staff=True),
    }
    users["security analyst"].groups.add(Group.objects.get_or_create(name=SECURITY_GROUP)[0])
    browsers = {"anonymous": HttpClient(raise_request_exception=False)}
    for role, user in users.items():
        browsers[role] = HttpClient(raise_request_exception=False)
        browsers[role].force_login(user)
    return browsers, users


def good_values(users) -> dict[str, str]:
    """A row of each kind the pages show, and the path values that name them."""
    actor = Actor.system("tests")
    client, _secret = services.create_client(
        name="Walked app",
        actor=actor,
        owner=users["developer"],
        redirect_uris=["https://app.example.com/callback"],
        grant_types=["authorization_code", "refresh_token"],
        scope=["profile", "read"],
    )
    services.record_consent(user=users["end user"], client=client, scope="profile")
    services.store_token(
        {"access_token": "oat_" + "w" * 32, "expires_in": 3600},
        client=client,
        user=users["end user"],
        grant_type="authorization_code",
    )
    recorder.insert([recorder.build_event("token_issued", client_id=client.client_id, username="w-alice")])
    subscription, _ = webhook_services.create_subscription(
        name="Walked hook", url="https://hooks.example.com/in", event_types=["client_created"], actor=actor
    )
    outbox.write("client_created", {"client_id": client.client_id}, to=[subscription])
    delivery = subscription.deliveries.first()
    key = services.create_signing_key(actor=actor)
    from django.contrib.contenttypes.models import ContentType

    return {
        "client_id": client.client_id,
        "object_id": str(client.pk),
        "secret_id": str(ClientSecret.objects.filter(client=client).first().pk),
        "action": "disable",
        "content_type_id": str(ContentType.objects.get_for_model(client).pk),
        "id": str(users["end user"].pk),
        "kid": key.kid,
        "subscription_id": str(subscription.pk),
        "delivery_id": str(delivery.pk) if delivery else "1",
        "consent_id": "1",
        "token_id": "1",
    }
