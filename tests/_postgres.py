"""The PostgreSQL server the database tests run against.

``CREDITRISK_TEST_POSTGRES_URL`` when set (``.ci/run`` starts Debian's server and sets
it). Otherwise, when PostgreSQL's programs are installed, a private throwaway cluster:
``initdb`` into a temporary directory, started on a free loopback port and stopped when
the test process ends. On a machine without PostgreSQL at all these tests fail, with the
reason (``make test`` installs it).
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from _services import unavailable

PG_ENV = "CREDITRISK_TEST_POSTGRES_URL"
_found: dict[str, str] = {}  # "url" or "missing" -> text, decided once per process


def _programs() -> Path | None:
    """The directory of initdb and pg_ctl (Debian keeps them off the PATH)."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    on_path = shutil.which("initdb")
    found = on_path or (candidates[-1] if candidates else None)
    return Path(found).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the postgres user then."""
    if os.geteuid() == 0 and shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _private_cluster(bin_dir: Path) -> str:
    root = Path(tempfile.mkdtemp(prefix="creditrisk-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = {"check": True, "capture_output": True, "text": True}
    password = root / "password"
    password.write_text("creditrisk\n")
    password.chmod(0o644)
    initdb = [str(bin_dir / "initdb"), "-D", str(data), "-U", "creditrisk"]
    # password authentication, as on a real server (a wrong password must be refused)
    initdb += ["-A", "scram-sha-256", f"--pwfile={password}"]
    subprocess.run(_as_postgres(initdb), **run)
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log")]
    subprocess.run(_as_postgres([*pg_ctl, "-o", options, "start"]), **run)

    def stop() -> None:
        subprocess.run(_as_postgres([*pg_ctl, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(stop)
    server = f"postgresql+psycopg://creditrisk:creditrisk@127.0.0.1:{port}"
    engine = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("CREATE DATABASE creditrisk_test"))
    finally:
        engine.dispose()
    return f"{server}/creditrisk_test"


def _answers(raw: str) -> str | None:
    """None when the server at ``raw`` answers, else why not."""
    url = sa.make_url(raw)
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 5})
        try:
            with engine.connect() as connection:
                connection.execute(sa.text("SELECT 1"))
        finally:
            engine.dispose()
    except ImportError as exc:
        return f"no PostgreSQL driver ({exc}): pip install 'creditrisk[sql]'"
    except sa.exc.SQLAlchemyError as exc:
        shown = url.render_as_string(hide_password=True)
        return f"PostgreSQL at {shown} does not answer: {exc.orig or exc}"
    return None


def _decide() -> None:
    raw = os.environ.get(PG_ENV, "").strip()
    if raw:
        problem = _answers(raw)
        _found.update({"missing": problem} if problem else {"url": raw})
        return
    bin_dir = _programs()
    if bin_dir is None:
        _found["missing"] = f"{PG_ENV} is not set and PostgreSQL is not installed (no initdb)"
        return
    try:
        _found["url"] = _private_cluster(bin_dir)
    except (OSError, subprocess.CalledProcessError, sa.exc.SQLAlchemyError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        _found["missing"] = f"{PG_ENV} is not set and a private PostgreSQL did not start: {detail}"


def postgres_url() -> sa.URL:
    """The test server's URL; without one, the test fails with the reason
    (:mod:`_services`)."""
    if not _found:
        _decide()
    if "missing" in _found:
        unavailable(_found["missing"])
    return sa.make_url(_found["url"])


@contextmanager
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A fresh schema on the test server, dropped (CASCADE) on exit: ``(url, schema)``,
    the URL reaching it through ``search_path`` (password shown, for the library)."""
    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(base)
    try:
        with admin.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        url = base.update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False), schema
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text("SET LOCAL lock_timeout = '20s'"))
            connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
