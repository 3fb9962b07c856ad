"""gunicorn's access log without credentials (`gunicorn.conf.py` selects this logger).

The protocol endpoints refuse a client secret or token sent in the URL, but gunicorn has already
written the URL to its access log by then, and logs travel further than the database (log
shippers, support tickets). So the query string of the protocol paths is never logged, nor the
query of the Referer (another site's callback URL may carry a code), nor the credential
headers, whatever `access_log_format` asks for.
"""

from urllib.parse import urlsplit, urlunsplit

from gunicorn.glogging import Logger

# /oauth/authorize, /oauth/token, /oauth/revoke, /oauth/introspect, /oauth/register..., /api/me.
PROTOCOL_PATH_PREFIXES = ("/oauth/", "/api/")
REDACTED = "[redacted]"
# Atoms a format can name: {header}i (request), {header}o (response), {variable}e (WSGI environ).
CREDENTIAL_ATOMS = (
    "{authorization}i",
    "{proxy-authorization}i",
    "{cookie}i",
    "{set-cookie}o",
    "{http_authorization}e",
    "{http_proxy_authorization}e",
    "{http_cookie}e",
)
QUERY_ATOMS = ("{query_string}e", "{raw_uri}e", "{request_uri}e")


def without_query(url: str) -> str:
    """`url` without its query and fragment ("-" and other non-URLs pass through)."""
    if "?" not in url and "#" not in url:
        return url
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class CredentialSafeLogger(Logger):
    """gunicorn's Logger, with the query of protocol paths, the Referer's query and the
    credential headers replaced before any access-log format sees them."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        path = environ.get("PATH_INFO") or ""
        if environ.get("QUERY_STRING") and path.startswith(PROTOCOL_PATH_PREFIXES):
            method, protocol = environ.get("REQUEST_METHOD", "-"), environ.get("SERVER_PROTOCOL", "-")
            raw_path = without_query(environ.get("RAW_URI") or path)
            atoms["r"] = f"{method} {raw_path}?{REDACTED} {protocol}"
            atoms["q"] = REDACTED
            for name in QUERY_ATOMS:
                if name in atoms:
                    atoms[name] = REDACTED
        for name in ("f", "{referer}i", "{http_referer}e"):
            if isinstance(atoms.get(name), str):
                atoms[name] = without_query(atoms[name])
        for name in CREDENTIAL_ATOMS:
            if name in atoms:
                atoms[name] = REDACTED
        return atoms
