"""The soak test (issue 6): `python -m bench.soak`.

A bounded load run against gunicorn and PostgreSQL on loopback: concurrent virtual clients issue
(authorization code + PKCE, client credentials), refresh, use, introspect and revoke tokens for a
few minutes; then the run checks that nothing was lost or left behind. See `run.py`: the server
under load in `server.py`, the virtual clients in `load.py`, the checks after the load in
`checks.py`, the results page in `report.py`.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def log(message: str) -> None:
    print(f"[soak] {message}", flush=True)
