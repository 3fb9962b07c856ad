"""Demo data for `make run`: one user per role and two clients, created once and reset on every run.

Secrets are stored only as digests, so a second run cannot print the first run's secret: it
rotates the confidential client's secret (the old one stops working at once) and prints the new
one. The passwords are fixed, public demo values; `seed_demo` refuses to set them outside DEBUG
unless forced.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from server import policies, services
from server.actors import Actor
from server.models import Client

ACTOR = Actor.system("seed_demo")

OPERATOR_USERNAME = "admin"
OPERATOR_PASSWORD = "admin-demo-password"
END_USER_USERNAME = "alice"
END_USER_PASSWORD = "alice-demo-password"
DEVELOPER_USERNAME = "dev"
DEVELOPER_PASSWORD = "dev-demo-password"
SECURITY_USERNAME = "security"
SECURITY_PASSWORD = "security-demo-password"
# The console's read-only audit group (made by its audit app's data migration). Looked up by
# name: the server layer imports nothing from the console.
SECURITY_GROUP = "security"

# Fixed, readable client ids, so that a re-run finds the same clients and the printed commands
# stay the same from one run to the next.
CONFIDENTIAL_CLIENT_ID = "demo-confidential"
PUBLIC_CLIENT_ID = "demo-public"

CLIENT_SETTINGS = {
    CONFIDENTIAL_CLIENT_ID: {
        "name": "Demo web app",
        "client_type": Client.Type.CONFIDENTIAL,
        "description": "Demo data from manage.py seed_demo: a server-side web app with a secret.",
        "redirect_uris": ["http://127.0.0.1:8000/demo/callback", "http://127.0.0.1:8765/callback"],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": ["profile", "email", "read", "write"],
    },
    PUBLIC_CLIENT_ID: {
        "name": "Demo native app",
        "client_type": Client.Type.PUBLIC,
        "description": "Demo data from manage.py seed_demo: a public client that uses PKCE.",
        "redirect_uris": ["http://127.0.0.1:8765/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": ["profile", "email", "read"],
    },
}


@dataclass(frozen=True)
class DemoUser:
    """A demo account and its (public, demo-only) password."""

    user: object
    password: str
    created: bool


@dataclass(frozen=True)
class DemoClient:
    """A demo client and the secret to print (None for the public one)."""

    client: Client
    secret: str | None
    created: bool


@dataclass(frozen=True)
class DemoData:
    """What `seed_demo` made or reset."""

    operator: DemoUser
    end_user: DemoUser
    developer: DemoUser
    security: DemoUser
    confidential: DemoClient
    public: DemoClient


def seed_demo() -> DemoData:
    """Create the demo users and clients, or reset them to their demo state; idempotent.

    Resets the users' passwords to the demo values and gives the confidential client a new secret
    (the old one expires at once), because a stored digest cannot be printed again.
    """
    with transaction.atomic():
        operator = _demo_user(
            OPERATOR_USERNAME, OPERATOR_PASSWORD, email="admin@example.com", is_staff=True, is_superuser=True
        )
        end_user = _demo_user(
            END_USER_USERNAME, END_USER_PASSWORD, email="alice@example.com", first_name="Alice"
        )
        developer = _demo_user(DEVELOPER_USERNAME, DEVELOPER_PASSWORD, email="dev@example.com")
        security = _demo_user(
            SECURITY_USERNAME, SECURITY_PASSWORD, email="security@example.com", is_staff=True
        )
        group = Group.objects.filter(name=SECURITY_GROUP).first()
        if group is not None:
            security.user.groups.add(group)
        # The developer owns the demo apps, so the portal has something to show.
        confidential = _demo_client(CONFIDENTIAL_CLIENT_ID, owner=developer.user)
        public = _demo_client(PUBLIC_CLIENT_ID, owner=developer.user)
    return DemoData(
        operator=operator,
        end_user=end_user,
        developer=developer,
        security=security,
        confidential=confidential,
        public=public,
    )


def _demo_user(username: str, password: str, **attributes) -> DemoUser:
    # Users belong to django.contrib.auth, whose manager is their write path; the server's
    # services only write the server's own models.
    user_model = get_user_model()
    attributes.setdefault("is_staff", False)
    attributes.setdefault("is_superuser", False)
    user, created = user_model.objects.get_or_create(
        **{user_model.USERNAME_FIELD: username}, defaults=attributes
    )
    for field, value in attributes.items():
        setattr(user, field, value)
    user.is_active = True
    user.set_password(password)
    user.save()
    return DemoUser(user=user, password=password, created=created)


def _demo_client(client_id: str, *, owner) -> DemoClient:
    wanted = CLIENT_SETTINGS[client_id]
    client = Client.objects.filter(client_id=client_id).first()
    if client is None:
        client, secret = services.create_client(
            client_id=client_id,
            actor=ACTOR,
            owner=owner,
            source=Client.Source.COMMAND,
            **wanted,
        )
        return DemoClient(client=client, secret=secret, created=True)

    if client.client_type != wanted["client_type"]:
        raise policies.PolicyError(
            f"The client {client_id!r} exists but is {client.client_type}, not {wanted['client_type']}: "
            "delete it (in the admin) and run seed_demo again."
        )
    # Put back whatever was changed while playing with the demo.
    services.update_client(
        client,
        actor=ACTOR,
        name=wanted["name"],
        description=wanted["description"],
        redirect_uris=wanted["redirect_uris"],
        grant_types=wanted["grant_types"],
        scope=wanted["scope"],
        # The demo's own clients, put back by the system: whatever an operator added goes.
        operator_scopes_allowed=policies.operator_scopes(),
    )
    if not client.is_active:
        services.set_client_status(client, Client.Status.ACTIVE, actor=ACTOR, reason="reset by seed_demo")
    secret = None
    if not client.is_public:
        secret = services.rotate_client_secret(
            client,
            actor=ACTOR,
            grace=services.GRACE_PERIODS["immediately"],
            operator_scopes_allowed=policies.operator_scopes(),
        ).secret
    return DemoClient(client=client, secret=secret, created=False)
