"""Shared fixtures: a real PostgreSQL, one isolated database per test.

The server is ``WFM_DATABASE_URL``'s (needs CREATEDB) or an embedded one under
``$WFM_TEST_HOME`` (default ``.wfm-test`` in the repository). Migrations run once into a
template database named after the migrations' checksum and the current month; each test
gets ``CREATE DATABASE ... TEMPLATE`` of it, which takes a fraction of a second.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from wfm_pipeline.db import embedded, migrations
from wfm_pipeline.db.connection import with_database
from wfm_pipeline_tests.health_data import load, today

_TEMPLATE_LOCK = 0x57464D54  # serializes template builds across concurrent pytest processes
_CHECKOUT = Path(__file__).resolve().parent.parent
_LEASE = pytest.StashKey()


def _test_home() -> Path:
    return Path(os.environ.get("WFM_TEST_HOME") or _CHECKOUT / ".wfm-test")


def _server_url() -> str:
    url = os.environ.get("WFM_DATABASE_URL")
    if url:
        return with_database(url, "postgres")
    return with_database(embedded.start(_test_home() / "pg"), "postgres")


def pytest_configure(config: pytest.Config) -> None:
    """The run (not each xdist worker) leases the embedded test server: see server_lease."""
    if os.environ.get("WFM_DATABASE_URL") or hasattr(config, "workerinput"):
        return
    from wfm_pipeline_tests.server_lease import ServerLease

    config.stash[_LEASE] = lease = ServerLease(_test_home())
    lease.take()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the embedded test server at the end of the run if this suite started it and no other
    run uses it (a server started otherwise, or shared with a parallel run, keeps running)."""
    lease = config.stash.get(_LEASE, None)
    if lease is not None and lease.give_back():
        config.get_terminal_writer().line(f"stopped the embedded test server ({lease.pgdata})")


@pytest.fixture(scope="session")
def server_url() -> str:
    """URL of the maintenance database ``postgres`` on the test server."""
    return _server_url()


@pytest.fixture(scope="session")
def template_db(server_url: str) -> str:
    """Name of a migrated template database for this schema version and month."""
    month = datetime.now(timezone.utc).strftime("%Y%m")
    # The runner's own code counts too: what upgrade() does beyond the SQL files (extensions,
    # premade partitions) changes the template.
    runner = hashlib.sha256(Path(migrations.__file__).read_bytes()).hexdigest()
    key = hashlib.sha256((migrations.checksum_of() + runner).encode()).hexdigest()
    name = f"wfm_tpl_{key[:16]}_{month}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_TEMPLATE_LOCK,))
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                building = f"{name}_build"
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building)))
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(building)))
                migrations.upgrade(with_database(server_url, building))
                conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                    sql.Identifier(building), sql.Identifier(name)))
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_TEMPLATE_LOCK,))
    return name


def create_database(server_url: str, template: str | None = None) -> str:
    name = f"wfm_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        query = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            query = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        conn.execute(query)
        # Safety net: a test that deadlocks against itself fails after a minute instead of
        # hanging the suite (role-level settings such as wfm_etl's lock_timeout still win).
        conn.execute(sql.SQL("ALTER DATABASE {} SET lock_timeout = '60s'").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(server_url: str, url: str) -> None:
    name = url.split("?")[0].rsplit("/", 1)[1]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def db_url(server_url: str, template_db: str) -> Iterator[str]:
    """URL of a fresh, fully migrated database private to this test."""
    from wfm_pipeline.db.pool import close_all

    url = create_database(server_url, template_db)
    yield url
    close_all()
    drop_database(server_url, url)


@pytest.fixture
def empty_db_url(server_url: str) -> Iterator[str]:
    """URL of a fresh database with no migrations applied."""
    url = create_database(server_url)
    yield url
    drop_database(server_url, url)


@pytest.fixture
def new_database(server_url: str) -> Iterator[Callable[[], str]]:
    """Factory of empty databases (no migrations applied), all dropped after the test."""
    made: list[str] = []

    def make() -> str:
        made.append(create_database(server_url))
        return made[-1]

    yield make
    for url in made:
        drop_database(server_url, url)


@pytest.fixture
def previous_release_sql(tmp_path: Path) -> Path:
    """The sql/ folder of the previous release (0.1, commit 1d54921), from the test fixture made
    with `git archive 1d54921 sql | gzip -9n`: what an existing database was migrated with."""
    import tarfile

    target = tmp_path / "previous-release"
    with tarfile.open(Path(__file__).parent / "fixtures" / "sql-previous-release.tar.gz") as tar:
        # The "data" filter (3.11.4+) refuses links and paths outside the target.
        tar.extractall(target, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    return target / "sql"


@pytest.fixture
def conn(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection to the test database (search_path wfm, public), rolled back at the end."""
    with psycopg.connect(db_url, options="-c search_path=wfm,public") as connection:
        yield connection
        connection.rollback()


@pytest.fixture
def wfm_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Environment of a `wfm` user pointed at the test database; yields WFM_HOME."""
    home = tmp_path / "wfm-home"
    home.mkdir()
    monkeypatch.setenv("WFM_DATABASE_URL", db_url)
    monkeypatch.setenv("WFM_HOME", str(home))
    monkeypatch.delenv("WFM_LANDING_DIR", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


@pytest.fixture
def service(conn: psycopg.Connection) -> dict:
    """A committed service 'S1' in Europe/Berlin with one group 'G1'."""
    service_id = conn.execute(
        "INSERT INTO services (code, name, time_zone) VALUES ('S1', 'Service one', 'Europe/Berlin') RETURNING service_id"
    ).fetchone()[0]
    group_id = conn.execute(
        "INSERT INTO groups (service_id, code, name) VALUES (%s, 'G1', 'Group one') RETURNING group_id", (service_id,)
    ).fetchone()[0]
    conn.commit()
    return {"service_id": service_id, "group_id": group_id, "code": "S1", "group_code": "G1"}


class Hung(BaseException):
    """Not an OSError (TimeoutError is one, and file reading code catches those)."""


@pytest.fixture
def no_hang() -> Iterator[None]:
    """Fail instead of hanging the suite if something blocks on a FIFO or reads /dev/zero for good."""
    import signal

    def timeout(signum, frame):
        raise Hung("blocked on a landing entry")
    old = signal.signal(signal.SIGALRM, timeout)
    signal.setitimer(signal.ITIMER_REAL, 120, 5)  # and again every 5 s, should the first be swallowed
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def loaded(conn: psycopg.Connection, service: dict) -> dict:
    """S1 (+G1) and S2 with the last 10 days and 5 days four months ago; views refreshed."""
    s2 = conn.execute("INSERT INTO services (code, name, time_zone) VALUES ('S2', 'Two', 'UTC') "
                      "RETURNING service_id").fetchone()[0]
    conn.commit()
    old = (today() - timedelta(days=120)).replace(day=3)
    for sid, gid in ((service["service_id"], service["group_id"]), (s2, None)):
        load(conn, sid, gid, today() - timedelta(days=10), 10)
        load(conn, sid, gid, old, 5)
    conn.execute("SELECT * FROM wfm.api_refresh_all_views()").fetchall()
    conn.commit()
    return {**service, "s2": s2, "old": old}
