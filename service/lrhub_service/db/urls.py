"""Map the database URLs users paste to the drivers lrhub uses."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
SYNC_DRIVERS = {"sqlite": "sqlite+pysqlite", "postgresql": "postgresql+psycopg"}


class DatabaseURLError(ValueError):
    """The database URL is not one lrhub can serve."""


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseURLError(f"cannot parse database URL {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in ASYNC_DRIVERS:
        raise DatabaseURLError(
            f"unsupported database {backend!r}: use sqlite:///path.db or postgresql://..."
        )
    return parsed.set(drivername=backend)


def backend_name(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``."""
    return _parse(url).get_backend_name()


def display_url(url: str) -> str:
    """The URL as a person may see it in a log or an answer: the password masked."""
    return _parse(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = _parse(url)
    return parsed.database or None if parsed.get_backend_name() == "sqlite" else None


def async_url(url: str) -> URL:
    """The URL for the app's async engine (aiosqlite or asyncpg)."""
    parsed = _parse(url)
    return parsed.set(drivername=ASYNC_DRIVERS[parsed.get_backend_name()])


def sync_url(url: str) -> URL:
    """The URL for Alembic and the CLI (pysqlite or psycopg)."""
    parsed = _parse(url)
    return parsed.set(drivername=SYNC_DRIVERS[parsed.get_backend_name()])


def is_memory_sqlite(url: str) -> bool:
    """True for ``sqlite://`` / ``sqlite:///:memory:``, which cannot be shared by processes."""
    parsed = _parse(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1", ""}


def asyncpg_ssl_off(url: str) -> bool:
    """True when TLS negotiation is pointless: a loopback or socket host and no SSL asked for."""
    parsed = _parse(url)
    if parsed.get_backend_name() != "postgresql":
        return False
    asked = {"ssl", "sslmode"} & set(parsed.query)
    return not asked and (parsed.host or "") in LOOPBACK_HOSTS
