"""What an import's result tells the operator: plain problems, every row's errors, no traceback.

django-import-export's page shows the traceback of a file-level error whatever DEBUG is, and
only a count per row behind a hover badge. The admin hands this module's lists to its own
template instead; anything unexpected is logged here with its traceback and shown as one line.
"""

import logging
from dataclasses import dataclass

from django.core.exceptions import NON_FIELD_ERRORS

from oauth_console.clients.import_files import ImportFileError

logger = logging.getLogger(__name__)

UNEXPECTED = "The import stopped on an unexpected problem (it is logged); nothing was imported."


@dataclass(frozen=True)
class RowProblem:
    row: int  # 1 is the first row under the header
    field: str  # a column name, or "" for the row as a whole
    message: str


def file_problems(result) -> list[str]:
    """Messages for problems with the file as a whole."""
    messages = []
    for error in result.base_errors:
        if isinstance(error.error, ImportFileError):
            messages.append(str(error.error))
        else:
            logger.error("client import failed:\n%s", error.traceback)
            messages.append(UNEXPECTED)
    return list(dict.fromkeys(messages))


def row_problems(result) -> list[RowProblem]:
    """Every error of every row, in row order: validation errors and unexpected ones alike."""
    problems = []
    for number, errors in result.row_errors():
        for error in errors:
            if isinstance(error.error, ValueError):
                message = str(error.error)
            else:
                logger.error("client import: row %s failed:\n%s", number, error.traceback)
                message = "An unexpected problem with this row (it is logged)."
            problems.append(RowProblem(number, "", message))
    for invalid in result.invalid_rows:
        for field, messages in invalid.error_dict.items():
            for message in messages:
                problems.append(
                    RowProblem(invalid.number, "" if field == NON_FIELD_ERRORS else field, message)
                )
    return sorted(problems, key=lambda problem: problem.row)
