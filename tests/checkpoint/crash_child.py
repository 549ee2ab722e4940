"""A graph run in a child process by ``test_engine.py``'s crash tests.

    python crash_child.py run|resume BACKEND WHERE THREAD_ID WORKDIR [parallel] [async]

``run`` starts the graph; node ``n3`` finds no ``WORKDIR/ready`` file, creates it and sleeps
until the test kills the process with SIGKILL. ``resume`` continues the thread with
``stream(None, config)`` and prints the final state as JSON. Every node appends
``start NAME`` / ``end NAME`` to ``WORKDIR/log``, so the test can tell what ran twice.
With ``parallel``, ``n2`` fans out to ``n3`` and a fast ``n3b`` in the same step; with
``async`` the run uses the async saver and ``astream``.
"""

from __future__ import annotations

import asyncio
import json
import operator
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

from relaygraph.graph import END, START, StateGraph


class State(TypedDict):
    items: Annotated[list[str], operator.add]


def log(workdir: Path, line: str) -> None:
    with open(workdir / "log", "a") as f:
        f.write(line + "\n")


def node(name: str, workdir: Path) -> Callable[[State], dict[str, Any]]:
    def run(state: State) -> dict[str, Any]:
        log(workdir, f"start {name}")
        if name == "n3" and not (workdir / "ready").exists():
            (workdir / "ready").write_text("n3 is running")
            time.sleep(120)  # killed here
        log(workdir, f"end {name}")
        return {"items": [name]}

    return run


def build(workdir: Path, parallel: bool) -> StateGraph:
    builder = StateGraph(State)
    names = ["n1", "n2", "n3", "n4", "n5"]
    for name in names:
        builder.add_node(name, node(name, workdir))
    builder.add_edge(START, "n1")
    builder.add_edge("n1", "n2")
    builder.add_edge("n2", "n3")
    if parallel:
        builder.add_node("n3b", node("n3b", workdir))
        builder.add_edge("n2", "n3b")
        builder.add_edge(["n3", "n3b"], "n4")
    else:
        builder.add_edge("n3", "n4")
    builder.add_edge("n4", "n5")
    builder.add_edge("n5", END)
    return builder


@contextmanager
def saver(backend: str, where: str) -> Iterator[Any]:
    if backend == "sqlite":
        from relaygraph.checkpoint.sqlite import SqliteSaver

        with SqliteSaver.from_conn_string(where) as s:
            s.setup()
            yield s
    else:
        from relaygraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(where) as s:
            s.setup()
            yield s


@asynccontextmanager
async def asaver(backend: str, where: str) -> AsyncIterator[Any]:
    if backend == "sqlite":
        from relaygraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(where) as s:
            await s.setup()
            yield s
    else:
        from relaygraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(where) as s:
            await s.setup()
            yield s


async def amain(graph: StateGraph, backend: str, where: str, inp: Any, config: Any) -> None:
    async with asaver(backend, where) as s:
        compiled = graph.compile(checkpointer=s)
        async for _ in compiled.astream(inp, config):
            pass
        print(json.dumps((await compiled.aget_state(config)).values))


def main(argv: list[str]) -> None:
    mode, backend, where, thread_id, workdir_s = argv[:5]
    workdir = Path(workdir_s)
    graph = build(workdir, "parallel" in argv[5:])
    config = {"configurable": {"thread_id": thread_id}}
    inp = {"items": []} if mode == "run" else None
    if "async" in argv[5:]:
        asyncio.run(amain(graph, backend, where, inp, config))
        return
    with saver(backend, where) as s:
        compiled = graph.compile(checkpointer=s)
        for _ in compiled.stream(inp, config):
            pass
        print(json.dumps(compiled.get_state(config).values))


if __name__ == "__main__":
    main(sys.argv[1:])
