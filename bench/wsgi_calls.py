"""Calling the WSGI application directly, as gunicorn's worker does per request (no server, no
socket): `bench.request_cost` measures these calls, `bench.openid_steps` chains them."""

import io
import sys


def wsgi_environ(method: str, path: str, headers: dict[str, str], body: bytes) -> dict:
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "18490",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        else:
            environ[f"HTTP_{key}"] = value
    return environ


def respond(application, environ: dict) -> tuple[str, list, bytes]:
    """What gunicorn's worker runs per request: (status, headers, body)."""
    answer = []

    def start_response(code, headers, exc_info=None):
        answer[:] = code, headers

    result = application(environ, start_response)
    body = b"".join(result)
    if hasattr(result, "close"):
        result.close()
    return answer[0], answer[1], body


def call(application, request) -> tuple[str, dict[str, str], bytes]:
    """Run one request (method, path, headers, body): (status, headers, body)."""
    status, headers, body = respond(application, wsgi_environ(*request))
    return status, dict(headers), body
