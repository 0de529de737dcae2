"""A throwaway PostgreSQL database: created on a server, dropped afterwards (even when its
users still hold connections). Tests and benchmarks use it so they never touch real data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def scratch_database(server_url: str, prefix: str = "homefeed_scratch") -> Iterator[str]:
    """The URL of a new, empty database ``prefix_<random>`` on the server of ``server_url``
    (whose user may create databases); raises sqlalchemy's OperationalError when the server
    cannot be reached."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except BaseException:
        admin.dispose()
        raise
    try:
        yield sa.engine.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
