import pytest

from oauth_console.webhooks import services
from server.actors import Actor
from tests.console.webhooks.receiver import WebhookReceiver

OPERATOR = Actor.system("tests")


@pytest.fixture
def receiver(tmp_path, settings):
    """A loopback HTTPS receiver the SSRF guard may reach (its certificate is the CA bundle, its
    address an allowed network): production stays https-only and public-only."""
    from tests.server.https_server import write_certificate

    cert, key = write_certificate(tmp_path)
    server = WebhookReceiver(cert, key).start()
    settings.OAUTH2_OUTBOUND_CA_BUNDLE = str(cert)
    settings.OAUTH2_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32", "::1/128"]
    settings.OAUTH2_WEBHOOK_TIMEOUT = 2
    yield server
    server.stop()


@pytest.fixture
def subscribe():
    def make(url: str, event_types=("client_created", "client_status_changed"), **kwargs):
        return services.create_subscription(
            name=kwargs.pop("name", "Receiver"),
            url=url,
            event_types=list(event_types),
            actor=OPERATOR,
            **kwargs,
        )

    return make
