"""PgBouncer in transaction mode on a loopback port, started and stopped by the bench.

`bench.scaleout` runs its instances through it, configured as docs/deployment.md says for a
transaction-mode pooler: `CONN_MAX_AGE=0`, no server-side cursors, and prepared statements off
before PgBouncer 1.21 (which cannot keep them) or kept with `max_prepared_statements` from 1.21.
PgBouncer comes from Debian (`apt-get install -y pgbouncer`); it refuses to run as root, so as
root it is started with `-u postgres` and its folder belongs to that user.
"""

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from bench import servers

FOLDER = servers.WORK / "pgbouncer"
# Prepared statements in transaction mode: PgBouncer 1.21 and later track them per client.
PREPARED_FROM = (1, 21)


@dataclass
class Pooler:
    port: int
    version: tuple[int, ...]
    pool_size: int
    process: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def keeps_prepared_statements(self) -> bool:
        return self.version >= PREPARED_FROM

    def url(self, direct_url: str) -> str:
        """`direct_url` (a database on PostgreSQL) as reached through the pooler."""
        parts = urlsplit(direct_url)
        return urlunsplit(parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{self.port}"))

    def django_env(self) -> dict[str, str]:
        """The settings docs/deployment.md gives an instance behind a transaction-mode pooler."""
        return {
            "CONN_MAX_AGE": "0",
            "DB_DISABLE_SERVER_SIDE_CURSORS": "1",
            "OAUTH2_PREPARED_STATEMENTS": "1" if self.keeps_prepared_statements else "0",
        }

    def describe(self) -> str:
        version = ".".join(map(str, self.version))
        prepared = (
            "prepared statements kept by PgBouncer (max_prepared_statements)"
            if self.keeps_prepared_statements
            else "OAUTH2_PREPARED_STATEMENTS=0 (PgBouncer < 1.21 cannot keep them)"
        )
        return (
            f"PgBouncer {version}, pool_mode=transaction, 127.0.0.1:{self.port}, "
            f"default_pool_size={self.pool_size}; instances with CONN_MAX_AGE=0, "
            f"DB_DISABLE_SERVER_SIDE_CURSORS=1, {prepared}"
        )


def traffic() -> str:
    """What PgBouncer's log says it did: client logins against server connections opened."""
    log = FOLDER / "pgbouncer.log"
    text = log.read_text() if log.exists() else ""
    logins, opened = text.count("login attempt"), text.count("new connection to server")
    return f"{logins:,} client connections served by {opened} server connections (pgbouncer.log)"


def find_pgbouncer() -> str:
    found = shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if Path(p).exists()), None
    )
    if found is None:
        raise SystemExit("bench.scaleout needs PgBouncer: apt-get install -y pgbouncer (or --no-pooler)")
    return found


def version_of(binary: str) -> tuple[int, ...]:
    output = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    found = re.search(r"PgBouncer (\d+)\.(\d+)(?:\.(\d+))?", output)
    if not found:
        raise RuntimeError(f"cannot read PgBouncer's version from {output!r}")
    return tuple(int(part) for part in found.groups() if part is not None)


def config(*, database: str, port: int, pool_size: int, prepared: bool, folder: Path) -> str:
    """pgbouncer.ini for one database of the PostgreSQL at 127.0.0.1:5432, trust auth."""
    lines = [
        "[databases]",
        f"{database} = host=127.0.0.1 port=5432 dbname={database}",
        "",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",
        "auth_type = trust",
        f"auth_file = {folder / 'userlist.txt'}",
        "pool_mode = transaction",
        f"default_pool_size = {pool_size}",
        "max_client_conn = 200",
        # Transaction mode hands a server connection to another client after every transaction:
        # nothing session-level may be left behind, and none is reset between clients.
        "server_reset_query =",
        "ignore_startup_parameters = extra_float_digits,options",
        f"logfile = {folder / 'pgbouncer.log'}",
        f"pidfile = {folder / 'pgbouncer.pid'}",
    ]
    if prepared:
        lines.append("max_prepared_statements = 100")
    return "\n".join(lines) + "\n"


def _wait_listening(port: int, process: subprocess.Popen, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    log = FOLDER / "pgbouncer.log"
    raise RuntimeError(f"PgBouncer did not start; {log.read_text()[-2000:] if log.exists() else 'no log'}")


@contextmanager
def running(database: str, *, port: int, pool_size: int = 8):
    """Start PgBouncer for `database` on 127.0.0.1:`port`; ALWAYS stop it at the end."""
    binary = find_pgbouncer()
    version = version_of(binary)
    pooler = Pooler(port=port, version=version, pool_size=pool_size)
    shutil.rmtree(FOLDER, ignore_errors=True)
    FOLDER.mkdir(parents=True)
    (FOLDER / "userlist.txt").write_text('"postgres" ""\n')
    ini = FOLDER / "pgbouncer.ini"
    ini.write_text(
        config(
            database=database,
            port=port,
            pool_size=pool_size,
            prepared=pooler.keeps_prepared_statements,
            folder=FOLDER,
        )
    )
    command = [binary, str(ini)]
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        for path in (FOLDER, *FOLDER.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
        command = [binary, "-u", "postgres", str(ini)]
    pooler.process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        _wait_listening(port, pooler.process)
        servers.log(f"pgbouncer: {pooler.describe()}")
        yield pooler
    finally:
        if pooler.process.poll() is None:
            pooler.process.send_signal(signal.SIGTERM)  # PgBouncer: immediate shutdown
            try:
                pooler.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pooler.process.kill()
                pooler.process.wait(timeout=10)
