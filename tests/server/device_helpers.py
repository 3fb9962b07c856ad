"""Driving the device flow (RFC 8628) with Django's test client."""

from server.oauth2.device import DEVICE_CODE_GRANT_TYPE
from tests.server.helpers import basic_auth, form

DEVICE_GRANTS = [DEVICE_CODE_GRANT_TYPE, "refresh_token"]


def client_auth(app) -> dict:
    """Headers (confidential: Basic) or body fields (public: client_id) for `app`."""
    client, secret = app
    if secret:
        return {"headers": {"HTTP_AUTHORIZATION": basic_auth(client.client_id, secret)}, "data": {}}
    return {"headers": {}, "data": {"client_id": client.client_id}}


def start(http, app, **data):
    """POST /oauth/device_authorization for `app`; the response."""
    auth = client_auth(app)
    return form(http, "/oauth/device_authorization", {**auth["data"], **data}, **auth["headers"])


def poll(http, app, device_code: str, **extra):
    """One poll of the token endpoint; the response."""
    auth = client_auth(app)
    data = {"grant_type": DEVICE_CODE_GRANT_TYPE, "device_code": device_code, **auth["data"], **extra}
    return form(http, "/oauth/token", data, **auth["headers"])


def enter_code(browser, user_code: str):
    """The signed-in `browser` types `user_code` at /device; the response (the consent page)."""
    return browser.post("/device", {"user_code": user_code})


def hidden_device_id(page) -> str:
    """The device authorization named by the consent form on `page`."""
    text = page.content.decode()
    marker = 'name="device_authorization" value="'
    start_at = text.index(marker) + len(marker)
    return text[start_at : text.index('"', start_at)]


def decide(browser, page, *, allow: bool):
    """Press Allow or Deny on the consent page `page`; the response."""
    choice = {"confirm": "yes"} if allow else {"deny": "yes"}
    return browser.post("/device", {"device_authorization": hidden_device_id(page), **choice})
