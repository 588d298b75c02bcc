"""A PostgreSQL for tests, and a fixture that runs a test on SQLite and on PostgreSQL.

Where the server comes from, first that works:

1. ``$SWITCHBOARD_TEST_POSTGRES``: a URL (``postgresql://user@host:port/db``), or ``off``
   to skip every PostgreSQL test;
2. the local server, ``postgresql://postgres@127.0.0.1:5432/test`` (trust auth);
3. a throwaway cluster made with ``initdb``/``pg_ctl`` (on ``PATH`` or in
   ``/usr/lib/postgresql/*/bin``) in a temporary folder, stopped and removed at the end
   (as root it runs as the ``postgres`` user, since ``initdb`` refuses root);

otherwise the PostgreSQL variants are skipped, saying why. Each test gets its own empty
schema, named ``sb_test_<session>_<n>``, through the URL's ``search_path``; it is dropped
after the test, and any left over from this session at its end.

Use: import the fixtures into a conftest (``from pg import db_url, postgres``, as
tests/switchboard/conftest.py does), or list ``"pg"`` in the root conftest's ``pytest_plugins``.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

ENV_VAR = "SWITCHBOARD_TEST_POSTGRES"
LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/test"


@dataclass
class Postgres:
    """A reachable server; :meth:`fresh_schema` hands out empty schemas on it."""

    url: str  # plain libpq-style URL, for psycopg
    prefix: str = field(default_factory=lambda: f"sb_test_{secrets.token_hex(4)}")
    _count: int = 0

    def fresh_schema(self) -> tuple[str, str]:
        """Create an empty schema; returns its name and a ``postgresql+psycopg://`` URL whose
        connections see only that schema."""
        self._count += 1
        name = f"{self.prefix}_{self._count}"
        self.execute(f'CREATE SCHEMA "{name}"')
        url = sa.make_url(self.url).set(drivername="postgresql+psycopg")
        url = url.update_query_dict({"options": f"-csearch_path={name}"})
        return name, url.render_as_string(hide_password=False)

    def drop_schema(self, name: str) -> None:
        self.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    def drop_all_schemas(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            names = conn.execute(
                "SELECT nspname FROM pg_namespace WHERE starts_with(nspname, %s)",
                (self.prefix,),
            ).fetchall()
        for (name,) in names:
            self.drop_schema(name)

    def execute(self, sql: str) -> None:
        # A lock timeout, so that a store a test left mid-transaction fails the drop
        # instead of hanging the session.
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("SET lock_timeout = '10s'")
            conn.execute(sql)


def _reachable(url: str) -> str | None:
    """None if a connection works, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=3):
            return None
    except psycopg.Error as e:
        return str(e).strip().splitlines()[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin_dir() -> Path | None:
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
    )
    for folder in reversed(candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    return None


@dataclass
class _Throwaway:
    """A cluster of our own in a temporary folder."""

    bin_dir: Path
    folder: Path
    run_as: list[str]
    port: int = field(default_factory=_free_port)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        data, log = self.folder / "data", self.folder / "server.log"
        self._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(data), "-o", options, "-l", str(log), "-w", "start")

    def stop(self) -> None:
        with suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.run_as, str(self.bin_dir / tool), *args],
            check=True,
            capture_output=True,
            timeout=120,
        )


def _throwaway() -> _Throwaway | str:
    """A started throwaway server, or why there is none."""
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        return "no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin"
    run_as: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="sb-postgres-"))
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            user = None
        if runuser is None or user is None:
            shutil.rmtree(folder, ignore_errors=True)
            return "initdb refuses to run as root, and there is no postgres user to run it as"
        os.chown(folder, user.pw_uid, user.pw_gid)
        run_as = [runuser, "-u", "postgres", "--"]
    server = _Throwaway(bin_dir, folder, run_as)
    try:
        server.start()
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as e:
        detail = getattr(e, "stderr", b"") or b""
        server.stop()
        return f"could not start a throwaway server with {bin_dir}: {e} {detail.decode()[-300:]}"
    return server


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server for the session (see the module docstring), or a skip."""
    wanted = os.environ.get(ENV_VAR, "").strip()
    if wanted.lower() == "off":
        pytest.skip(f"PostgreSQL tests switched off (${ENV_VAR}=off)")
    url = wanted or LOCAL_URL
    why_not = _reachable(url)
    server: _Throwaway | None = None
    if why_not is not None:
        started = _throwaway()
        if isinstance(started, str):
            pytest.skip(f"no PostgreSQL: {url} is unreachable ({why_not}); {started}")
        server, url = started, started.url
    pg = Postgres(url)
    try:
        yield pg
    finally:
        if server is not None:
            server.stop()
        else:
            pg.drop_all_schemas()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL for an empty database: a SQLite file, then a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'calls.db'}"
        return
    pg: Postgres = request.getfixturevalue("postgres")
    name, url = pg.fresh_schema()
    try:
        yield url
    finally:
        pg.drop_schema(name)
