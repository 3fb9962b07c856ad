"""Self sign-up: off by default; when on, Django's password validators apply."""

import pytest
from django.contrib.auth import get_user_model

from server import signals

pytestmark = pytest.mark.django_db

SIGNUP = "/developers/signup/"


def test_signup_is_off_by_default(client):
    assert client.get(SIGNUP).status_code == 404
    assert client.post(SIGNUP, {"username": "eve"}).status_code == 404
    assert b"signup" not in client.get("/developers/").content


def test_signup_creates_a_developer_and_signs_them_in(client, settings):
    settings.PORTAL_SELF_SIGNUP = True
    assert b"/developers/signup/" in client.get("/developers/").content
    response = client.post(
        SIGNUP,
        {
            "username": "newdev",
            "email": "new@example.com",
            "password1": "a-Long-pass-phrase-42",
            "password2": "a-Long-pass-phrase-42",
        },
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newdev")
    assert user.email == "new@example.com"
    assert not user.is_staff
    assert client.get("/developers/").context["user"] == user


@pytest.mark.parametrize(
    "password, text",
    [("short", "too short"), ("password123", "too common"), ("12345678901", "entirely numeric")],
)
def test_weak_passwords_are_refused(client, settings, password, text):
    settings.PORTAL_SELF_SIGNUP = True
    response = client.post(
        SIGNUP,
        {"username": "newdev", "email": "new@example.com", "password1": password, "password2": password},
    )
    assert response.status_code == 200
    assert text in " ".join(response.context["form"].errors["password2"])
    assert not get_user_model().objects.filter(username="newdev").exists()


def test_signup_goes_through_the_service_and_is_announced(
    client, settings, django_capture_on_commit_callbacks
):
    """The portal writes no user itself: `services.sign_up_developer` does, and says so after commit."""
    settings.PORTAL_SELF_SIGNUP = True
    heard = []

    def hear(sender, **kwargs):
        heard.append(kwargs)

    signals.developer_signed_up.connect(hear)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                SIGNUP,
                {
                    "username": "newdev",
                    "email": "new@example.com",
                    "password1": "a-Long-pass-phrase-42",
                    "password2": "a-Long-pass-phrase-42",
                },
            )
    finally:
        signals.developer_signed_up.disconnect(hear)
    assert response.status_code == 302
    user = get_user_model().objects.get(username="newdev")
    assert user.check_password("a-Long-pass-phrase-42")
    announced = [(event["user"], event["actor"].label) for event in heard]
    assert announced == [(user, "developer:newdev")]
