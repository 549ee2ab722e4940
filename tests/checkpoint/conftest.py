"""Saver fixtures for the conformance suite: every backend, through both faces.

``env`` is parametrised over ``memory``, ``sqlite`` and ``postgres`` × ``sync``/``async``.
Tests talk to savers and graphs through :class:`Env`, whose methods are coroutines that call
the sync methods (``put``, ``invoke``...) or the async ones (``aput``, ``ainvoke``...), so
one test body covers both faces. PostgreSQL tests run in a schema of their own, dropped at
the end, and skip when ``RELAYGRAPH_TEST_POSTGRES_URL`` is unset or unreachable.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests._pg import fresh_schema


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str]:
    """A conninfo whose search_path is a fresh schema (dropped after the session)."""
    with fresh_schema() as conninfo:
        yield conninfo


class Env:
    """One backend through one face: makes savers and calls them (and graphs) uniformly."""

    def __init__(self, backend: str, face: str, stack: AsyncExitStack, where: str) -> None:
        self.backend = backend
        self.face = face
        self.stack = stack
        self.where = where  # sqlite file or postgres conninfo
        self.durable = backend != "memory"
        self.saver: Any = None

    def __repr__(self) -> str:
        return f"{self.backend}-{self.face}"

    @property
    def is_async(self) -> bool:
        return self.face == "async"

    async def new_saver(self) -> Any:
        """A new saver object on the same storage (the same object for ``memory``)."""
        if self.backend == "memory":
            from relaygraph.checkpoint.memory import InMemorySaver

            self.saver = self.saver or InMemorySaver()
            return self.saver
        if self.backend == "sqlite":
            if self.is_async:
                from relaygraph.checkpoint.sqlite.aio import AsyncSqliteSaver

                saver = await self.stack.enter_async_context(
                    AsyncSqliteSaver.from_conn_string(self.where)
                )
                await saver.setup()
            else:
                from relaygraph.checkpoint.sqlite import SqliteSaver

                saver = self.stack.enter_context(SqliteSaver.from_conn_string(self.where))
                saver.setup()
        elif self.is_async:
            from relaygraph.checkpoint.postgres.aio import AsyncPostgresSaver

            saver = await self.stack.enter_async_context(
                AsyncPostgresSaver.from_conn_string(self.where, max_size=2)
            )
            await saver.setup()
        else:
            from relaygraph.checkpoint.postgres import PostgresSaver

            saver = self.stack.enter_context(PostgresSaver.from_conn_string(self.where, max_size=2))
            saver.setup()
        self.saver = saver
        return saver

    # == saver calls =====================================================================
    async def call(self, name: str, *args: Any, saver: Any = None, **kwargs: Any) -> Any:
        saver = saver or self.saver
        if self.is_async:
            if name == "list":
                return [t async for t in saver.alist(*args, **kwargs)]
            return await getattr(saver, "a" + name)(*args, **kwargs)
        result = getattr(saver, name)(*args, **kwargs)
        return list(result) if name == "list" else result

    # == graph calls =====================================================================
    async def graph(self, graph: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if name in ("stream", "get_state_history"):
            if self.is_async:
                return [c async for c in getattr(graph, "a" + name)(*args, **kwargs)]
            return list(getattr(graph, name)(*args, **kwargs))
        if self.is_async:
            return await getattr(graph, "a" + name)(*args, **kwargs)
        return getattr(graph, name)(*args, **kwargs)


ENVS = [(b, f) for b in ("memory", "sqlite", "postgres") for f in ("sync", "async")]


@pytest.fixture(params=ENVS, ids=[f"{b}-{f}" for b, f in ENVS])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    backend, face = request.param
    where = str(tmp_path / "checkpoints.db")
    if backend == "postgres":
        where = request.getfixturevalue("pg_schema")
    async with AsyncExitStack() as stack:
        env = Env(backend, face, stack, where)
        await env.new_saver()
        yield env


@pytest.fixture
def thread_id() -> str:
    return f"t-{uuid.uuid4().hex}"
