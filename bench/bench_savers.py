"""Checkpoint saver benchmarks: a 100-step chain with list state, per saver, in one process.

    .venv/bin/python bench/bench_savers.py [--steps 100] [--repeat 5] [--only sqlite,memory] \\
        [--reference-path /work/refvenv/lib/python3.11/site-packages [--reference-path DIR]]

Each node appends one item to ``items: Annotated[list, operator.add]``; items are an int, a
1 KB string or a 10 KB string. Reports µs per step (best and median of ``--repeat`` runs,
each on a fresh thread) for no saver, the memory saver, SQLite (relaygraph's default
``synchronous=NORMAL``, and ``sqlite-full``: ``synchronous=FULL``, an fsync per commit, as
langgraph's saver runs), and PostgreSQL when ``RELAYGRAPH_TEST_POSTGRES_URL`` is set; and the bytes each durable saver stored for one
thread (payload columns: serialized checkpoints, metadata, blobs and writes).

relaygraph always comes from this repository's ``src/``; langgraph and its savers
(``langgraph-checkpoint-sqlite``/``-postgres``) come from the installed packages or from the
``--reference-path`` directories, appended to ``sys.path`` after relaygraph is imported (as
``bench_runtime.py`` does). A saver a library lacks is shown as ``-``. The reference venv has
no langgraph savers; put them in a directory of their own and pass it too:

    .venv/bin/pip install --target /tmp/lg-savers --no-deps langgraph-checkpoint-sqlite \
        langgraph-checkpoint-postgres aiosqlite sqlite-vec
"""

from __future__ import annotations

import argparse
import gc
import operator
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated, Any, TypedDict

from _harness import fresh_schema

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
ITEMS = {"int": 1, "1KB str": "x" * 1024, "10KB str": "x" * 10240}
SAVERS = ("none", "memory", "sqlite", "sqlite-full", "postgres")
PG_URL = os.environ.get("RELAYGRAPH_TEST_POSTGRES_URL")

Bytes = Callable[[str], int]
"""thread_id -> payload bytes stored for it."""


class State(TypedDict):
    items: Annotated[list, operator.add]


def build(library: str, steps: int, item: Any) -> Any:
    graph = __import__(f"{library}.graph", fromlist=["StateGraph"])
    builder = graph.StateGraph(State)
    names = [f"n{i:03d}" for i in range(steps)]
    for name in names:
        builder.add_node(name, lambda state: {"items": [item]})
    for a, b in zip([graph.START, *names], [*names, graph.END], strict=True):
        builder.add_edge(a, b)
    return builder


def _sqlite_bytes(conn: Any, queries: list[str]) -> Bytes:
    def count(thread_id: str) -> int:
        return sum(conn.execute(q, (thread_id,)).fetchone()[0] or 0 for q in queries)

    return count


def _pg_bytes(conninfo: str, queries: list[str]) -> Bytes:
    import psycopg

    def count(thread_id: str) -> int:
        with psycopg.connect(conninfo) as conn:
            return sum(conn.execute(q, (thread_id,)).fetchone()[0] or 0 for q in queries)

    return count


OURS_SQL = [
    "SELECT SUM(LENGTH(checkpoint) + LENGTH(metadata)) FROM relaygraph_checkpoints WHERE thread_id = {p}",
    "SELECT SUM(LENGTH(data)) FROM relaygraph_checkpoint_blobs WHERE thread_id = {p}",
    "SELECT SUM(LENGTH(data)) FROM relaygraph_checkpoint_writes WHERE thread_id = {p}",
]
LANGGRAPH_SQLITE = [
    "SELECT SUM(LENGTH(checkpoint) + LENGTH(metadata)) FROM checkpoints WHERE thread_id = ?",
    "SELECT SUM(LENGTH(value)) FROM writes WHERE thread_id = ?",
]
LANGGRAPH_PG = [
    "SELECT SUM(pg_column_size(checkpoint) + pg_column_size(metadata)) FROM checkpoints WHERE thread_id = %s",
    "SELECT SUM(LENGTH(blob)) FROM checkpoint_blobs WHERE thread_id = %s",
    "SELECT SUM(LENGTH(blob)) FROM checkpoint_writes WHERE thread_id = %s",
]


def open_saver(library: str, kind: str, stack: ExitStack, tmp: Path) -> tuple[Any, Bytes | None]:
    """The saver ``kind`` of ``library`` and a byte counter (``None``: not measured)."""
    if kind == "none":
        return None, None
    if kind == "memory":
        module = __import__(f"{library}.checkpoint.memory", fromlist=["InMemorySaver"])
        return module.InMemorySaver(), None
    if kind.startswith("sqlite"):
        path = str(tmp / f"{library}-{uuid.uuid4().hex[:6]}.db")
        if library == "relaygraph":
            from relaygraph.checkpoint.sqlite import SqliteSaver

            sync = "FULL" if kind == "sqlite-full" else "NORMAL"
            saver = stack.enter_context(SqliteSaver.from_conn_string(path, synchronous=sync))
            saver.setup()
            return saver, _sqlite_bytes(saver.conn, [q.format(p="?") for q in OURS_SQL])
        from langgraph.checkpoint.sqlite import SqliteSaver as LangGraphSqlite

        saver = stack.enter_context(LangGraphSqlite.from_conn_string(path))
        saver.setup()
        return saver, _sqlite_bytes(saver.conn, LANGGRAPH_SQLITE)
    conninfo = stack.enter_context(fresh_schema(PG_URL or ""))
    if library == "relaygraph":
        from relaygraph.checkpoint.postgres import PostgresSaver

        saver = stack.enter_context(PostgresSaver.from_conn_string(conninfo))
        saver.setup()
        return saver, _pg_bytes(conninfo, [q.format(p="%s") for q in OURS_SQL])
    from langgraph.checkpoint.postgres import PostgresSaver as LangGraphPostgres

    saver = stack.enter_context(LangGraphPostgres.from_conn_string(conninfo))
    saver.setup()
    return saver, _pg_bytes(conninfo, LANGGRAPH_PG)


def measure(
    libraries: list[str], kind: str, item: Any, steps: int, repeat: int, tmp: Path
) -> dict[str, tuple[list[float], int | None] | str]:
    """Per library: (µs per step of each timed run, bytes stored for one thread) or an error."""
    out: dict[str, Any] = {}
    with ExitStack() as stack:
        runs: dict[str, Callable[[], tuple[float, str]]] = {}
        counters: dict[str, Bytes | None] = {}
        for library in libraries:
            try:
                saver, counters[library] = open_saver(library, kind, stack, tmp)
            except ImportError as e:
                out[library] = f"not importable ({e.name})"
                continue
            graph = build(library, steps, item).compile(checkpointer=saver)

            def run(graph: Any = graph) -> tuple[float, str]:
                thread_id = uuid.uuid4().hex
                config = {"configurable": {"thread_id": thread_id}, "recursion_limit": steps + 10}
                gc.collect()
                start = time.perf_counter()
                result = graph.invoke({"items": []}, config)
                seconds = time.perf_counter() - start
                assert len(result["items"]) == steps
                return seconds / steps * 1e6, thread_id

            run()  # warm up
            runs[library] = run
            out[library] = ([], None)
        for _ in range(repeat):  # alternate, so drift in the machine's speed hits both alike
            for library, run in runs.items():
                us, thread_id = run()
                counter = counters[library]
                out[library] = (
                    [*out[library][0], us],
                    counter(thread_id) if counter else None,
                )
    return out


def import_libraries(reference_paths: list[str]) -> list[str]:
    sys.path.insert(0, str(SRC))
    import relaygraph  # first, so a `relaygraph` shim under --reference-path cannot win

    where = Path(relaygraph.__file__).resolve()
    if not where.is_relative_to(SRC):
        raise RuntimeError(f"relaygraph comes from {where}, not from {SRC}")
    sys.path.extend(reference_paths)
    try:
        import langgraph.graph  # noqa: F401
    except ImportError:
        print("langgraph not installed: skipped")
        return ["relaygraph"]
    return ["relaygraph", "langgraph"]


def fmt_cell(value: tuple[list[float], int | None] | str | None) -> tuple[str, str]:
    if value is None:
        return "-", "-"
    if isinstance(value, str):
        return value, "-"
    times, size = value
    return (
        f"{min(times):8.1f} / {statistics.median(times):8.1f}",
        f"{size / 1024:9.1f} KiB" if size is not None else "-",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", help="comma-separated savers: " + ",".join(SAVERS))
    parser.add_argument("--reference-path", action="append", default=[], metavar="DIR")
    args = parser.parse_args(argv)
    for path in args.reference_path:
        if not Path(path).is_dir():
            raise SystemExit(f"--reference-path {path}: no such directory")
    libraries = import_libraries([str(Path(p).resolve()) for p in args.reference_path])
    kinds = [k for k in (args.only or ",".join(SAVERS)).split(",") if k]
    if "postgres" in kinds and not PG_URL:
        print("RELAYGRAPH_TEST_POSTGRES_URL not set: postgres skipped")
        kinds.remove("postgres")
    print(f"{args.steps} steps, repeat={args.repeat}; µs per step as best / median")
    header = f"{'item':9} {'saver':8} " + " ".join(
        f"{lib + ' µs/step':>21} {lib[:5] + ' bytes':>13}" for lib in libraries
    )
    print(header + ("  speedup" if len(libraries) > 1 else ""))
    with tempfile.TemporaryDirectory() as tmp:
        for item_name, item in ITEMS.items():
            for kind in kinds:
                got = measure(libraries, kind, item, args.steps, args.repeat, Path(tmp))
                cells = [fmt_cell(got.get(lib)) for lib in libraries]
                line = f"{item_name:9} {kind:8} " + " ".join(f"{t:>21} {b:>13}" for t, b in cells)
                ours, ref = got.get("relaygraph"), got.get("langgraph")
                if isinstance(ours, tuple) and isinstance(ref, tuple):
                    line += f"  {min(ref[0]) / min(ours[0]):6.2f}x"
                print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
