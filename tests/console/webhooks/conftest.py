import pytest

from oauth_console.webhooks import services
from server.actors import Actor

OPERATOR = Actor.system("tests")


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
