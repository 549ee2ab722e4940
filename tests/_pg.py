"""PostgreSQL for the tests (savers, server storage, scale-out): the server from ``RELAYGRAPH_TEST_POSTGRES_URL``, one fresh
schema per test (named in the conninfo's ``search_path``, dropped afterwards)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

POSTGRES_URL_VAR = "RELAYGRAPH_TEST_POSTGRES_URL"


def postgres_url_or_skip() -> str:
    """The test server's URL; skips the test when it is unset or unreachable."""
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(f"{POSTGRES_URL_VAR} is not set")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3):
            pass
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"PostgreSQL at {POSTGRES_URL_VAR} is unreachable: {e}")
    return url


@contextmanager
def fresh_schema() -> Iterator[str]:
    """A conninfo whose ``search_path`` is a new empty schema, dropped on exit."""
    url = postgres_url_or_skip()
    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"rg_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(url, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
