"""The shape issue 12 settled on, checked so that it cannot drift back.

`server.oauth2` is the one adapter over authlib: the JSON requests, the Basic-credential reader,
the claimed client_id, the error cleaning and the no-store JSON error each exist once, there; the
layers and the absence of import cycles are import-linter's contracts (pyproject.toml).
"""

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "server"


def _modules() -> list[Path]:
    return sorted(path for path in SERVER.rglob("*.py") if "migrations" not in path.parts)


def _files_matching(pattern: str) -> list[str]:
    regex = re.compile(pattern)
    return [
        path.relative_to(ROOT).as_posix()
        for path in _modules()
        if regex.search(path.read_text(encoding="utf-8"))
    ]


def test_the_import_contracts_hold():
    # Kept: console above server; server.oauth2 imports nothing else of server and is the only
    # importer of authlib; no import cycle in server or server.oauth2 (the old
    # endpoints <-> authorization_server cycle breaks this test).
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 kept, 0 broken" in result.stdout


def test_basic_credentials_are_decoded_in_one_place():
    assert _files_matching(r"b64decode|extract_basic_authorization") == ["server/oauth2/client_auth.py"]
    assert _files_matching(r"def claimed_client_id\b") == ["server/oauth2/client_auth.py"]


def test_the_no_store_answer_is_built_in_one_place():
    assert _files_matching(r"""["']no-store["']|["']no-cache["']""") == ["server/oauth2/errors.py"]
    assert _files_matching(r"JsonResponse\(\s*\{\s*[\"']error[\"']") == []


def test_error_descriptions_are_cleaned_by_one_function():
    assert _files_matching(r"def \w*error_text\b") == ["server/oauth2/errors.py"]


def test_json_requests_and_registration_endpoints_are_built_in_server_oauth2():
    assert _files_matching(r"class \w+\((JsonRequest|JsonPayload)\)") == ["server/oauth2/requests.py"]
    assert _files_matching(r"from authlib\.oauth2\.rfc759[12] import") == [
        "server/oauth2/protocol_server.py",
        "server/oauth2/registration.py",
    ]
    # One authlib server hosts every endpoint (registration built a second one).
    assert _files_matching(r"from authlib\.oauth2(\.rfc6749)? import .*AuthorizationServer") == [
        "server/oauth2/protocol_server.py"
    ]


def test_the_client_id_length_limit_is_written_once():
    # With the Client (server/client_model.py); server.models re-exports it.
    assert _files_matching(r"MAX_CLIENT_ID_LENGTH\s*=") == ["server/client_model.py"]
    assert _files_matching(r"len\(client_id\)\s*[<>]=?\s*\d|client_id\.strip\(\)\)\s*[<>]") == []


def test_server_modules_stay_small():
    sizes = {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for path in _modules()
    }
    assert max(sizes.values()) <= 400, {name: size for name, size in sizes.items() if size > 400}


def _reads_digits_itself(source: str) -> bool:
    """Whether code (not a comment or docstring) calls str.isdigit / isdecimal / isnumeric or
    writes a regex `\\d`."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("isdigit", "isdecimal", "isnumeric"):
            return True
        literal = isinstance(node, ast.Constant) and isinstance(node.value, str)
        if literal and id(node) not in docstrings and "\\d" in node.value:
            return True
    return False


def test_decimal_numbers_are_read_by_one_rule():
    # "²".isdigit() is true and int("²") raises; "٣".isdigit() is true and int("٣") is 3; regex
    # \d matches both kinds of digit. Every number a client, a remote server, an import file or a
    # command line writes is read by server/oauth2/digits.py (whole_number, decimal_value).
    found = [
        path.relative_to(ROOT).as_posix()
        for folder in (SERVER, ROOT / "oauth_console")
        for path in sorted(folder.rglob("*.py"))
        if "migrations" not in path.parts and _reads_digits_itself(path.read_text(encoding="utf-8"))
    ]
    assert found == ["server/oauth2/digits.py"]


def test_x_forwarded_for_is_read_in_one_place():
    # The rate limiter and the audit log read the client's address through one reader
    # (`forwarded_address`); two parsers disagreed on an address a proxy wrote with its port.
    readers = sorted(
        path.relative_to(ROOT).as_posix()
        for base in (SERVER, ROOT / "oauth_console")
        for path in base.rglob("*.py")
        if "HTTP_X_FORWARDED_FOR" in path.read_text(encoding="utf-8")
    )
    assert readers == ["server/ratelimit/identity.py"]
