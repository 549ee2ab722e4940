"""Runtime benchmarks: the same workloads on relaygraph and langgraph, in one process.

    .venv/bin/python bench/bench_runtime.py [--quick] [--only NAME[,NAME]] \\
        [--reference-path /work/refvenv/lib/python3.11/site-packages]

relaygraph always comes from this repository's ``src/``. langgraph is imported normally, or
from ``--reference-path`` (a site-packages directory appended to ``sys.path`` *after*
relaygraph is imported, so a ``relaygraph`` shim living there cannot shadow the real one).

Each workload is built once (untimed), run once to warm up, then timed ``--repeat`` times,
alternating between the libraries; the table shows the best and the median. A workload that fails on one library (say, a
relaygraph feature that has not landed) reports its error and the others still run.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import importlib
import itertools
import operator
import os
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"


# -- what a workload is ------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    key: str
    unit: str  # "µs/step", "events/s", ... shown as is
    higher_is_better: bool
    kind: str = "number"  # "number", "count" (an integer) or "bool" (no speedup)


@dataclass(frozen=True)
class Options:
    chain: int = 100
    fanout: int = 100
    custom_events: int = 200_000
    message_tokens: int = 20_000
    repeat: int = 5
    reference_paths: tuple[str, ...] = ()  # where langgraph comes from, if not installed


Run = Callable[[], dict[str, float]]
"""One timed repetition: returns a value for each of the workload's metrics."""


@dataclass(frozen=True)
class Workload:
    name: str
    about: str
    metrics: tuple[Metric, ...]
    setup: Callable[[str, Options, ExitStack], Run]  # library -> one timed run; builds untimed


@dataclass
class Api:
    """The public names a workload uses, from one library."""

    StateGraph: Any
    START: str
    END: str
    get_stream_writer: Callable[[], Callable[[Any], None]]


def load_api(library: str) -> Api:
    graph = importlib.import_module(f"{library}.graph")
    config = importlib.import_module(f"{library}.config")
    if library == "relaygraph":
        assert_from_repo(graph)
    return Api(graph.StateGraph, graph.START, graph.END, config.get_stream_writer)


def assert_from_repo(module: Any) -> None:
    paths = [getattr(module, "__file__", None) or "", *getattr(module, "__path__", [])]
    where = [Path(p).resolve() for p in paths if p]
    if not where or not all(p.is_relative_to(SRC) for p in where):
        raise RuntimeError(f"{module.__name__} comes from {where}, not from {SRC}")


# -- the workloads ------------------------------------------------------------------------


class Counter(TypedDict):
    x: int


class Items(TypedDict, total=False):
    items: Annotated[list[int], operator.add]
    total: int


def build_chain(api: Api, length: int, *, write_custom: bool) -> Any:
    """START -> n000 -> n001 -> ... -> END; each node adds one to ``x``."""

    def make(i: int) -> Callable[[Counter], dict[str, int]]:
        if write_custom:

            def node(state: Counter) -> dict[str, int]:
                api.get_stream_writer()(i)
                return {"x": state["x"] + 1}

        else:

            def node(state: Counter) -> dict[str, int]:
                return {"x": state["x"] + 1}

        return node

    builder = api.StateGraph(Counter)
    names = [f"n{i:03d}" for i in range(length)]
    for i, name in enumerate(names):
        builder.add_node(name, make(i))
    for a, b in zip([api.START, *names], [*names, api.END], strict=True):
        builder.add_edge(a, b)
    return builder.compile()


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def expect(what: str, got: int, want: int) -> None:
    if got != want:
        raise AssertionError(f"{what}: got {got}, expected {want}")


def setup_chain_updates(library: str, opts: Options, _: ExitStack) -> Run:
    api = load_api(library)
    graph = build_chain(api, opts.chain, write_custom=False)
    config = {"recursion_limit": opts.chain + 10}

    def run() -> dict[str, float]:
        seconds, chunks = timed(lambda: list(graph.stream({"x": 0}, config, stream_mode="updates")))
        expect("updates", len(chunks), opts.chain)
        return {"step": seconds / opts.chain * 1e6}

    return run


def setup_chain_multimode(library: str, opts: Options, _: ExitStack) -> Run:
    api = load_api(library)
    graph = build_chain(api, opts.chain, write_custom=True)
    config = {"recursion_limit": opts.chain + 10}
    modes = ["values", "updates", "custom"]

    def run() -> dict[str, float]:
        seconds, chunks = timed(lambda: list(graph.stream({"x": 0}, config, stream_mode=modes)))
        expect("custom chunks", sum(m == "custom" for m, _ in chunks), opts.chain)
        expect("values chunks", sum(m == "values" for m, _ in chunks), opts.chain + 1)
        return {"step": seconds / opts.chain * 1e6}

    return run


def branch(i: int) -> Callable[[Items], dict[str, list[int]]]:
    def node(state: Items) -> dict[str, list[int]]:
        return {"items": [i]}

    return node


def setup_fanout(library: str, opts: Options, _: ExitStack) -> Run:
    api = load_api(library)
    builder = api.StateGraph(Items)
    for i in range(opts.fanout):
        builder.add_node(f"b{i:03d}", branch(i))
        builder.add_edge(api.START, f"b{i:03d}")
        builder.add_edge(f"b{i:03d}", "join")
    builder.add_node("join", lambda state: {"total": len(state["items"])})
    builder.add_edge("join", api.END)
    graph = builder.compile()

    def run() -> dict[str, float]:
        seconds, chunks = timed(lambda: list(graph.stream({"items": []}, stream_mode="updates")))
        expect("join total", chunks[-1]["join"]["total"], opts.fanout)
        return {"branch": seconds / opts.fanout * 1e6}

    return run


def build_emitter(api: Api, count: int, *, is_async: bool) -> Any:
    """One node that calls the stream writer ``count`` times."""

    def emit(state: Counter) -> dict[str, int]:
        write = api.get_stream_writer()
        for i in range(count):
            write(i)
        return {"x": count}

    async def aemit(state: Counter) -> dict[str, int]:
        return emit(state)

    builder = api.StateGraph(Counter)
    builder.add_node("emit", aemit if is_async else emit)
    builder.add_edge(api.START, "emit")
    builder.add_edge("emit", api.END)
    return builder.compile()


def setup_custom_sync(library: str, opts: Options, _: ExitStack) -> Run:
    api = load_api(library)
    graph = build_emitter(api, opts.custom_events, is_async=False)

    def run() -> dict[str, float]:
        seconds, n = timed(lambda: sum(1 for _ in graph.stream({"x": 0}, stream_mode="custom")))
        expect("custom events", n, opts.custom_events)
        return {"rate": n / seconds}

    return run


def setup_custom_async(library: str, opts: Options, stack: ExitStack) -> Run:
    api = load_api(library)
    graph = build_emitter(api, opts.custom_events, is_async=True)
    loop = asyncio.new_event_loop()
    stack.callback(loop.close)

    async def consume() -> tuple[float, int]:
        gc.collect()
        start, n = time.perf_counter(), 0
        async for _ in graph.astream({"x": 0}, stream_mode="custom"):
            n += 1
        return time.perf_counter() - start, n

    def run() -> dict[str, float]:
        seconds, n = loop.run_until_complete(consume())
        expect("custom events", n, opts.custom_events)
        return {"rate": n / seconds}

    return run


class Tokens(TypedDict):
    n: int


def setup_messages(library: str, opts: Options, _: ExitStack) -> Run:
    api = load_api(library)
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage

    text = " ".join(f"tok{i}" for i in range(opts.message_tokens))
    model = GenericFakeChatModel(messages=itertools.cycle([AIMessage(content=text)]))

    def call_model(state: Tokens) -> dict[str, int]:
        return {"n": sum(1 for _ in model.stream("hi"))}

    builder = api.StateGraph(Tokens)
    builder.add_node("call_model", call_model)
    builder.add_edge(api.START, "call_model")
    builder.add_edge("call_model", api.END)
    graph = builder.compile()

    def run() -> dict[str, float]:
        bare_s, bare_n = timed(lambda: sum(1 for _ in model.stream("hi")))
        graph_s, graph_n = timed(
            lambda: sum(1 for _ in graph.stream({"n": 0}, stream_mode="messages"))
        )
        if graph_n < bare_n:
            raise AssertionError(f"messages mode delivered {graph_n} of {bare_n} chunks")
        # Rates count the model's chunks; messages mode may add a final whole message.
        graph_rate, bare_rate = bare_n / graph_s, bare_n / bare_s
        return {"graph": graph_rate, "bare": bare_rate, "graph/bare": graph_rate / bare_rate}

    return run


IMPORT_PROBE = """
import sys, time
sys.path[:0] = {prepend!r}
sys.path.extend({append!r})
before = set(sys.modules)
start = time.perf_counter()
import {library}.graph as graph
graph.StateGraph
seconds = time.perf_counter() - start
print(seconds, len(set(sys.modules) - before), int("langchain_core" in sys.modules))
"""


def setup_import(library: str, opts: Options, _: ExitStack) -> Run:
    # Timed inside a fresh interpreter, so interpreter startup is not counted.
    ours = library == "relaygraph"
    code = IMPORT_PROBE.format(
        prepend=[str(SRC)] if ours else [],
        append=[] if ours else list(opts.reference_paths),
        library=library,
    )

    # Bytecode caches on, as in normal use (installed packages ship them; the repo's src/
    # gets them on the warm-up run below).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}

    def run() -> dict[str, float]:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=False, env=env
        )
        if out.returncode:
            raise RuntimeError(out.stderr.strip().splitlines()[-1])
        seconds, modules, langchain = out.stdout.split()
        return {"time": float(seconds) * 1e3, "modules": float(modules), "lc": float(langchain)}

    run()  # warm-up: writes bytecode caches
    return run


WORKLOADS = (
    Workload(
        "chain_updates",
        "100-node chain, sync stream(stream_mode='updates')",
        (Metric("step", "µs/step", False),),
        setup_chain_updates,
    ),
    Workload(
        "chain_multimode",
        "same chain, modes values+updates+custom, one writer call per node",
        (Metric("step", "µs/step", False),),
        setup_chain_multimode,
    ),
    Workload(
        "fanout",
        "START -> 100 parallel nodes -> join (list state, operator.add)",
        (Metric("branch", "µs/branch", False),),
        setup_fanout,
    ),
    Workload(
        "custom_sync",
        "one node writes N custom events, sync stream(stream_mode='custom')",
        (Metric("rate", "events/s", True),),
        setup_custom_sync,
    ),
    Workload(
        "custom_async",
        "one async node writes N custom events, astream(stream_mode='custom')",
        (Metric("rate", "events/s", True),),
        setup_custom_async,
    ),
    Workload(
        "messages",
        "GenericFakeChatModel.stream() in a node, stream_mode='messages' vs the bare model",
        (
            Metric("graph", "tokens/s", True),
            Metric("bare", "tokens/s", True),
            Metric("graph/bare", "ratio", True),
        ),
        setup_messages,
    ),
    Workload(
        "import",
        "`import X.graph` in a fresh interpreter (startup excluded)",
        (
            Metric("time", "ms", False),
            Metric("modules", "modules", False, kind="count"),
            Metric("lc", "langchain_core?", False, kind="bool"),
        ),
        setup_import,
    ),
)


# -- running and reporting ----------------------------------------------------------------


@dataclass
class Result:
    values: dict[str, list[float]] = field(default_factory=dict)
    error: str | None = None

    def best(self, metric: Metric) -> float:
        pick = max if metric.higher_is_better else min
        return pick(self.values[metric.key])

    def median(self, metric: Metric) -> float:
        return statistics.median(self.values[metric.key])


def measure(
    workload: Workload, libraries: list[str], opts: Options, show_traceback: bool
) -> dict[str, Result]:
    """Set each library up, warm it up, then time them in turn (rg, lg, rg, lg, ...), so drift
    in the machine's speed hits both alike. A library that fails drops out; the others go on."""
    results = {lib: Result() for lib in libraries}
    runs: dict[str, Run] = {}

    def fail(lib: str, exc: Exception) -> None:
        if show_traceback:
            traceback.print_exc()
        lines = str(exc).strip().splitlines()
        results[lib].error = f"{type(exc).__name__}: {lines[0] if lines else ''}"
        runs.pop(lib, None)

    with ExitStack() as stack:
        for lib in libraries:
            print(f"  {workload.name}: setting up {lib}", file=sys.stderr, flush=True)
            try:
                runs[lib] = workload.setup(lib, opts, stack)
                runs[lib]()  # warm-up
            except Exception as exc:
                fail(lib, exc)
        for _ in range(opts.repeat):
            for lib in list(runs):
                try:
                    values = runs[lib]()
                except Exception as exc:
                    fail(lib, exc)
                    continue
                for key, value in values.items():
                    results[lib].values.setdefault(key, []).append(value)
    return results


def fmt(value: float, metric: Metric) -> str:
    if metric.kind == "bool":
        return "yes" if value else "no"
    if metric.kind == "count":
        return f"{value:,.0f}"
    if metric.unit == "ratio":
        return f"{value:.3f}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"


def speedup(metric: Metric, ours: Result, theirs: Result) -> str:
    """How many times better relaygraph is (>1 means relaygraph wins), from the best runs."""
    if metric.kind == "bool" or ours.error or theirs.error:
        return ""
    a, b = ours.best(metric), theirs.best(metric)
    if not a or not b:
        return ""
    return f"{(a / b if metric.higher_is_better else b / a):.2f}x"


def report(results: dict[str, dict[str, Result]], libraries: list[str]) -> None:
    header = ["workload", "unit"]
    for lib in libraries:
        header += [f"{lib} best", "median"]
    if len(libraries) == 2:
        header.append("relaygraph speedup")
    rows, errors = [header], []
    for workload in WORKLOADS:
        if workload.name not in results:
            continue
        per_lib = results[workload.name]
        for metric in workload.metrics:
            label = workload.name if len(workload.metrics) == 1 else f"{workload.name}.{metric.key}"
            row = [label, metric.unit]
            for lib in libraries:
                r = per_lib[lib]
                row += (
                    ["error", ""]
                    if r.error
                    else [fmt(r.best(metric), metric), fmt(r.median(metric), metric)]
                )
            if len(libraries) == 2:
                row.append(speedup(metric, per_lib["relaygraph"], per_lib["langgraph"]))
            rows.append(row)
        errors += [
            f"  {workload.name} on {lib}: {r.error}" for lib, r in per_lib.items() if r.error
        ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for n, row in enumerate(rows):
        cells = [
            c.ljust(w) if i < 2 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    if errors:
        print("\nerrors (rerun with --traceback for details):")
        print("\n".join(errors))


def import_libraries(reference_paths: tuple[str, ...]) -> list[str]:
    """Import relaygraph from the repo first, then make langgraph importable; return what loaded."""
    sys.path.insert(0, str(SRC))
    import relaygraph  # first, so a `relaygraph` shim under --reference-path cannot win

    sys.path.extend(reference_paths)
    assert_from_repo(relaygraph)
    libraries = ["relaygraph"]
    try:
        import langgraph  # noqa: F401
    except ImportError:
        print("langgraph not installed: skipped")
    else:
        libraries.append("langgraph")
    return libraries


def versions(libraries: list[str]) -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = [f"python {sys.version.split()[0]}"]
    for dist in ["langgraph", "langchain-core"]:
        if dist == "langgraph" and "langgraph" not in libraries:
            continue
        try:
            parts.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            parts.append(f"{dist} (not installed)")
    return ", ".join(parts)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark relaygraph against langgraph on the same workloads, in one process.",
        epilog="workloads: " + "; ".join(f"{w.name}: {w.about}" for w in WORKLOADS),
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller N and fewer repeats (a smoke run)"
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only these workloads (repeatable, or comma-separated)",
    )
    parser.add_argument("--repeat", type=int, help="timed repetitions per workload (default 5)")
    parser.add_argument(
        "--reference-path",
        metavar="DIR",
        help="a site-packages directory holding langgraph, appended to sys.path",
    )
    parser.add_argument(
        "--traceback", action="store_true", help="print the full traceback of failures"
    )
    args = parser.parse_args(argv)
    names = [w.name for w in WORKLOADS]
    args.only = [n for arg in args.only or [] for n in arg.split(",") if n] or names
    unknown = sorted(set(args.only) - set(names))
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {names}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    opts = (
        Options(custom_events=20_000, message_tokens=2_000, repeat=3) if args.quick else Options()
    )
    if args.repeat:
        opts = dataclasses.replace(opts, repeat=args.repeat)
    if args.reference_path:
        if not Path(args.reference_path).is_dir():
            raise SystemExit(f"--reference-path {args.reference_path}: no such directory")
        opts = dataclasses.replace(
            opts, reference_paths=(str(Path(args.reference_path).resolve()),)
        )
    libraries = import_libraries(opts.reference_paths)
    print(f"{versions(libraries)}; repeat={opts.repeat}{' (quick)' if args.quick else ''}")
    print(f"relaygraph from {SRC}")

    results: dict[str, dict[str, Result]] = {}
    for workload in WORKLOADS:
        if workload.name not in args.only:
            continue
        results[workload.name] = measure(workload, libraries, opts, args.traceback)
    print()
    report(results, libraries)
    failed = any(r.error for per_lib in results.values() for r in per_lib.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
