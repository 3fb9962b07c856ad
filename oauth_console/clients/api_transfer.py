"""APIs to and from JSON: the export carries every setting (nothing about an API is secret); the
import only creates, each row through `services.create_api`, all or nothing (one bad row and no
API is written), and never touches the default API (an export of it is skipped on import)."""

import json

from server import services
from server.actors import Actor
from server.models import Api
from server.oauth2.bodies import LONE_SURROGATE, has_lone_surrogates
from server.policy_rules import PolicyError

MAX_IMPORT_BYTES = 1_000_000
MAX_IMPORT_ROWS = 500
COLUMNS = (
    "identifier",
    "name",
    "scopes",
    "token_format",
    "access_token_lifetime",
    "allowed_clients",
    "allow_any_client",
    "resource_servers",
)


class ImportProblems(ValueError):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def export_rows(queryset) -> list[dict]:
    rows = []
    for api in queryset.prefetch_related("allowed_clients", "resource_servers"):
        rows.append(
            {
                "identifier": api.identifier,
                "name": api.name,
                "scopes": dict(api.scopes),
                "token_format": api.token_format,
                "access_token_lifetime": api.access_token_lifetime,
                "allowed_clients": sorted(client.client_id for client in api.allowed_clients.all()),
                "allow_any_client": api.allow_any_client,
                "resource_servers": sorted(client.client_id for client in api.resource_servers.all()),
                **({"default": True} if api.is_default else {}),
            }
        )
    return rows


def export_json(queryset) -> str:
    return json.dumps(export_rows(queryset), indent=2)


def read_json(upload) -> list[dict]:
    """The rows of an uploaded export, or ImportProblems saying why it cannot be read."""
    raw = upload.read(MAX_IMPORT_BYTES + 1)
    if len(raw) > MAX_IMPORT_BYTES:
        raise ImportProblems([f"The file is larger than {MAX_IMPORT_BYTES} bytes."])
    try:
        rows = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ImportProblems(["The file is not UTF-8 JSON."]) from None
    if has_lone_surrogates(rows):
        raise ImportProblems([f"The file is not valid JSON text. {LONE_SURROGATE}"])
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ImportProblems(["The file holds a list of API objects."])
    if len(rows) > MAX_IMPORT_ROWS:
        raise ImportProblems([f"At most {MAX_IMPORT_ROWS} APIs per file."])
    return rows


def import_rows(rows: list[dict], *, actor: Actor) -> list[Api]:
    """Create an API per row (call inside a transaction: a problem in any row raises
    ImportProblems listing every row's problem, and the caller's rollback keeps none)."""
    created, problems = [], []
    for number, row in enumerate(rows, start=1):
        if row.get("default") is True:
            continue
        unknown = set(row) - set(COLUMNS) - {"default"}
        values = {name: row[name] for name in COLUMNS if name in row and row[name] is not None}
        try:
            if unknown:
                raise PolicyError(f"Unknown field(s): {', '.join(sorted(unknown))[:100]}.")
            created.append(
                services.create_api(
                    actor=actor,
                    identifier=values.pop("identifier", ""),
                    name=values.pop("name", ""),
                    **values,
                )
            )
        except PolicyError as error:
            problems.append(f"Row {number}: {error}")
        except TypeError:
            problems.append(f"Row {number}: a value has the wrong type.")
    if problems:
        raise ImportProblems(problems)
    return created
