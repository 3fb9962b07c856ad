"""What "inert" means in each kind of output, written from the threat rather than from our policy."""

import csv
import html
import io
import json
import re
from urllib.parse import urlsplit

import openpyxl
from django.utils.html import escape

DANGEROUS_SCHEMES = {"javascript", "data", "vbscript", "file"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters a browser strips or ignores inside a URL scheme (WHATWG URL: C0 controls and space).
_IGNORED_IN_SCHEME = re.compile(r"[\x00-\x20]")
# A dot segment in a link's path ("/../", "/./", at its end too): the browser resolves it away.
_DOT_SEGMENT = re.compile(r"(^|/)\.{1,2}(/|$)")
# A host nothing reads as something else (RFC 1123 names, RFC 3986 IP literals): labels of letters
# (of any script: an IDN) and digits with inner hyphens, or a bracketed IPv6 address; anything
# else may end a header's directive where the host is copied (`;` `,` `'`), or name to a browser
# another host than the one a person reads (`%2e`, an empty label). An underscore only where no
# browser, DNS or CSP host-source reads the host: a private-use scheme's authority.
_NAME_LABEL = r"[^\W_](?:[^\W_]|-)*(?<!-)"
_APP_LABEL = r"[^\W](?:[^\W]|-)*(?<!-)"
_NAME = re.compile(rf"(?:{_NAME_LABEL}\.)*{_NAME_LABEL}\.?")
_APP_NAME = re.compile(rf"(?:{_APP_LABEL}\.)*{_APP_LABEL}\.?")
_IPV6_LITERAL = re.compile(r"\[[0-9A-Fa-f:.]+\]")
# WHATWG URL: a host whose last label is a number is an IPv4 address, whatever else it holds.
_NUMBER = re.compile(r"[0-9]+|0[xX][0-9A-Fa-f]*")
_DOTTED_DECIMAL = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)
_ATTRIBUTE_URL = re.compile(r"""\b(?:href|src|action|formaction|srcset|poster)\s*=\s*(["'])(.*?)\1""", re.I)


def host_is_safe(netloc: str, *, app: bool = False) -> bool:
    """The host of an authority (no user information) is one of the forms above; no host is safe."""
    host = re.sub(r":[0-9]*$", "", netloc) if not netloc.endswith("]") else netloc
    if not host or _IPV6_LITERAL.fullmatch(host):
        return True
    if not (_APP_NAME if app else _NAME).fullmatch(host):
        return False
    last = host.removesuffix(".").rsplit(".", 1)[-1]
    return not _NUMBER.fullmatch(last) or bool(_DOTTED_DECIMAL.fullmatch(host))


def uri_is_safe(value: str, *, redirect: bool = False) -> bool:
    """A stored client URI is safe to keep: a plain http(s) URL without credentials or controls
    (a redirect URI may use a private-use scheme, RFC 8252 §7.1, but never a script-running one)."""
    if not value:
        return True
    if len(value) > 2048 or any(
        ord(ch) < 0x20 or ord(ch) == 0x7F or 0x202A <= ord(ch) <= 0x202E for ch in value
    ):
        return False
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme in DANGEROUS_SCHEMES or parts.username or parts.password or '"' in value or "<" in value:
        return False
    if not host_is_safe(parts.netloc, app=scheme not in ("http", "https")):
        return False
    if scheme == "https":
        return bool(parts.hostname)
    if scheme == "http":
        return parts.hostname in {"127.0.0.1", "localhost", "::1"}
    return redirect and bool(scheme) and "." in scheme


def assert_page_inert(page: str, where: str) -> None:
    """No link or resource on the page points at a script-running scheme, and no raw markup from
    a hostile value made it into the HTML."""
    for _quote, raw in _ATTRIBUTE_URL.findall(page):
        url = _IGNORED_IN_SCHEME.sub("", html.unescape(raw)).lower()
        scheme = url.split(":", 1)[0] if ":" in url.split("/", 1)[0] else ""
        assert scheme not in DANGEROUS_SCHEMES, f"{where}: dangerous URL in an attribute: {raw!r}"
        parts = urlsplit(html.unescape(raw))
        assert not (parts.username or parts.password), f"{where}: credentials in a rendered URL: {raw!r}"
        path = parts.path if not parts.scheme and not parts.netloc else ""
        assert not _DOT_SEGMENT.search(path), f"{where}: a link leaves its path (a dot segment): {raw!r}"
    assert "<script>alert(1)</script>" not in page, f"{where}: hostile markup rendered raw"
    assert "<img src=x onerror" not in page, f"{where}: hostile markup rendered raw"


def assert_value_escaped(page: str, value: str, where: str, *, shown: bool = True) -> None:
    """`value` (as stored) is on the page as HTML-escaped text when `shown`, and never as it is
    when it holds what could end an attribute or start a tag."""
    if shown:
        assert escape(value) in page, f"{where}: the value is not shown (escaped): {value[:40]!r}"
    if any(character in value for character in "<>\"'") and len(value) > 3:
        assert value not in page, f"{where}: the value rendered as it is: {value[:40]!r}"


def csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def assert_csv_cells_neutral(content: bytes, where: str) -> None:
    for row in csv_rows(content):
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"{where}: CSV cell starts a formula: {cell[:40]!r}"


def xlsx_rows(content: bytes) -> list[list[object]]:
    # Not data_only: a formula cell must be seen as a formula (data type "f"), not read as None.
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [[cell.value for cell in row] for row in sheet.iter_rows()]


def assert_xlsx_cells_neutral(content: bytes, where: str) -> None:
    book = openpyxl.load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{where}: XLSX formula cell {cell.coordinate}: {cell.value!r}"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(FORMULA_START), f"{where}: {cell.value[:40]!r}"


def _no_constant(name: str):
    raise AssertionError(f"not JSON (RFC 8259 has no {name})")


def json_answer(response, where: str) -> dict:
    """An answer a program reads: JSON a browser will not sniff into HTML, strictly parsed."""
    media_type = response["Content-Type"].split(";")[0].strip()
    assert media_type == "application/json", (where, response["Content-Type"])
    assert response.get("X-Content-Type-Options") == "nosniff", f"{where}: a browser may sniff it"
    body = json.loads(response.content.decode("utf-8"), parse_constant=_no_constant)
    assert isinstance(body, dict), where
    return body
