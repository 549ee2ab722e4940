"""API server benchmarks: a real ``relaygraph serve`` subprocess driven over HTTP.

    .venv/bin/python bench/bench_server.py [--runs 300] [--clients 8] [--events 200000]

Reports, against the example project's ``agent`` graph (two nodes, ``stream_mode=updates``)
plus a ``firehose`` graph written to a temporary project:

* ``ttfe_p50_ms``: time from sending ``POST /threads/{id}/runs/stream`` to receiving the
  first event (``metadata``), median over sequential runs;
* ``runs_per_s_seq`` / ``runs_per_s_8``: whole streamed runs per second, one client, then
  ``--clients`` concurrent clients (each on its own threads);
* ``events_per_s``: ``custom`` events per second received on one stream (one node writing
  ``--events`` items);
* ``server_cpu_ms_per_run``: the server process's CPU time (``/proc``) per run in the
  concurrent phase.

``--durability exit`` checkpoints once per run instead of once per step, which shows what
the server costs apart from the engine's checkpoint writes.

``--database-url postgresql://...`` runs the server in its scale-out mode (runs, threads, event
logs and checkpoints in that database, which should be empty: a fresh database or a
``?options=-csearch_path%3D...`` schema), with ``--redis-url`` carrying its bus (else
LISTEN/NOTIFY). The default is the single-process SQLite setup.

Client and server share the machine, so on two cores the client's own CPU caps the figures.
The client parses SSE minimally (raw httpx); the official SDK costs more per event.

The same workloads run against LangGraph's own server when asked, side by side:

* ``--reference-cmd "/work/refapi/bin/langgraph dev"`` starts it in a copy of
  ``bench/reference_project`` (the same two graphs, written against ``langgraph``), with
  ``--host 127.0.0.1 --port PORT --no-browser --no-reload`` appended; its CPU is that of the
  process and its children;
* ``--reference-url URL`` uses one already running on that project (no CPU figure).

``--repeat N`` alternates the servers N times (each started once) and keeps each figure's best
(highest rate, lowest time), so drift in the machine's speed hits both alike.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from _harness import cpu_seconds, free_port, wait_ok

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "agent_project" / "graphs.py"
REFERENCE_PROJECT = Path(__file__).resolve().parent / "reference_project"

FIREHOSE = """
from typing_extensions import TypedDict
from relaygraph.config import get_stream_writer
from relaygraph.graph import START, StateGraph


class S(TypedDict, total=False):
    n: int


def fire(state: S) -> S:
    write = get_stream_writer()
    for i in range(state["n"]):
        write(i)
    return {}


firehose = StateGraph(S).add_node(fire).add_edge(START, "fire").compile()
"""


async def _stream(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> tuple[float, int]:
    """(seconds to first event, events) for one streamed run."""
    start = time.perf_counter()
    first = 0.0
    events = 0
    async with http.stream("POST", path, json=body) as response:
        async for chunk in response.aiter_raw():
            if not first:
                first = time.perf_counter() - start
            events += chunk.count(b"\r\n\r\n")
    return first, events


async def _thread(http: httpx.AsyncClient) -> str:
    return str((await http.post("/threads", json={})).json()["thread_id"])


async def bench(
    url: str, pid: int | None, runs: int, clients: int, n_events: int, durability: str = "async"
) -> dict[str, float]:
    body = {
        "assistant_id": "agent",
        "input": {"topic": "x"},
        "stream_mode": "updates",
        "durability": durability,
    }
    limits = httpx.Limits(max_connections=clients * 2, max_keepalive_connections=clients * 2)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        tid = await _thread(http)
        for _ in range(20):  # warm up
            await _stream(http, f"/threads/{tid}/runs/stream", body)
        firsts = []
        start = time.perf_counter()
        for _ in range(runs):
            first, _ = await _stream(http, f"/threads/{tid}/runs/stream", body)
            firsts.append(first)
        seq = runs / (time.perf_counter() - start)

        tids = [await _thread(http) for _ in range(clients)]
        per_client = max(1, runs // clients)

        async def client(t: str) -> None:
            for _ in range(per_client):
                await _stream(http, f"/threads/{t}/runs/stream", body)

        cpu0 = cpu_seconds(pid)
        start = time.perf_counter()
        await asyncio.gather(*(client(t) for t in tids))
        elapsed = time.perf_counter() - start
        cpu = cpu_seconds(pid) - cpu0
        done = per_client * clients

        fire = {"assistant_id": "firehose", "input": {"n": n_events}, "stream_mode": "custom"}
        await _stream(http, "/runs/stream", {**fire, "input": {"n": 1000}})
        start = time.perf_counter()
        _, events = await _stream(http, "/runs/stream", fire)
        events_per_s = events / (time.perf_counter() - start)
    return {
        "ttfe_p50_ms": statistics.median(firsts) * 1000,
        "ttfe_p90_ms": statistics.quantiles(firsts, n=10)[-1] * 1000,
        "runs_per_s_seq": seq,
        f"runs_per_s_{clients}": done / elapsed,
        "server_cpu_ms_per_run": cpu / done * 1000,
        "events_per_s": events_per_s,
    }


def _start_relaygraph(
    work: Path, database_url: str | None = None, redis_url: str | None = None
) -> tuple[str, subprocess.Popen[bytes]]:
    shutil.copy(EXAMPLE, work / "graphs.py")
    (work / "firehose.py").write_text(FIREHOSE)
    (work / "langgraph.json").write_text(
        json.dumps({"graphs": {"agent": "./graphs.py:agent", "firehose": "./firehose.py:firehose"}})
    )
    port = free_port()
    scale_out = ["--database-url", database_url] if database_url else []
    if redis_url:
        scale_out += ["--redis-url", redis_url]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "relaygraph.cli",
            "serve",
            "--config",
            str(work / "langgraph.json"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(work / "data"),
            "--no-access-log",
            "--log-level",
            "warning",
            *scale_out,
        ],
        stdout=subprocess.DEVNULL,
    )
    return f"http://127.0.0.1:{port}", proc


def _start_reference(command: str, work: Path) -> tuple[str, subprocess.Popen[bytes]]:
    project = work / "reference_project"  # a copy: the server writes its state next to it
    shutil.copytree(REFERENCE_PROJECT, project)
    log = work / "reference.log"
    port = free_port()
    args = [*shlex.split(command), "--host", "127.0.0.1", "--port", str(port)]
    args += ["--no-browser", "--no-reload"]
    env = {**os.environ, "LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false"}
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=project, env=env, stdout=out, stderr=subprocess.STDOUT)
    return f"http://127.0.0.1:{port}", proc


_LOWER_IS_BETTER = ("ttfe_p50_ms", "ttfe_p90_ms", "server_cpu_ms_per_run")


def _best(rounds: list[dict[str, float]]) -> dict[str, float]:
    best: dict[str, float] = {}
    for key in rounds[0]:
        values = [r[key] for r in rounds if not math.isnan(r[key])]
        if not values:
            best[key] = math.nan
        else:
            best[key] = min(values) if key in _LOWER_IS_BETTER else max(values)
    return best


def _report(results: dict[str, list[dict[str, float]]]) -> None:
    names = list(results)
    best = {name: _best(rounds) for name, rounds in results.items()}
    keys = list(best[names[0]])
    header = f"{'':24s}" + "".join(f"{n:>14s}" for n in names)
    if len(names) == 2:
        header += f"{'ratio':>10s}"
    print(header)
    for key in keys:
        line = f"{key:24s}" + "".join(f"{best[n][key]:14.2f}" for n in names)
        if len(names) == 2:
            ours, theirs = best[names[0]][key], best[names[1]][key]
            # above 1: relaygraph is better (faster, or less time/CPU)
            ratio = theirs / ours if key in _LOWER_IS_BETTER else ours / theirs
            line += f"{ratio:10.2f}" if ratio == ratio and theirs and ours else f"{'':>10s}"
        print(line)
    if any(len(r) > 1 for r in results.values()):
        print(f"(best of {max(len(r) for r in results.values())} rounds)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--durability",
        choices=["sync", "async", "exit"],
        default="async",
        help="the runs' durability (async: a checkpoint per step, the reference's default)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds per server (best kept)")
    parser.add_argument(
        "--database-url",
        help="run relaygraph in its scale-out mode on this (empty) PostgreSQL database",
    )
    parser.add_argument("--redis-url", help="with --database-url: the bus on this Redis")
    ref = parser.add_mutually_exclusive_group()
    ref.add_argument(
        "--reference-cmd",
        help="start the reference server with this command (e.g. '.../bin/langgraph dev')",
    )
    ref.add_argument(
        "--reference-url", help="bench a reference server already running on reference_project"
    )
    parser.add_argument(
        "--no-relaygraph", action="store_true", help="bench only the reference server"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relaygraph-bench-"))
    procs: list[subprocess.Popen[bytes]] = []
    targets: dict[str, tuple[str, int | None]] = {}
    try:
        if not args.no_relaygraph:
            url, proc = _start_relaygraph(work, args.database_url, args.redis_url)
            procs.append(proc)
            wait_ok(url, proc)
            targets["relaygraph"] = (url, proc.pid)
        if args.reference_cmd:
            url, proc = _start_reference(args.reference_cmd, work)
            procs.append(proc)
            try:
                wait_ok(url, proc, timeout=120)
            except SystemExit:
                print((work / "reference.log").read_text()[-3000:], file=sys.stderr)
                raise
            targets["reference"] = (url, proc.pid)
        elif args.reference_url:
            targets["reference"] = (args.reference_url.rstrip("/"), None)
        if not targets:
            parser.error("nothing to bench")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
        for _ in range(args.repeat):
            for name, (url, pid) in targets.items():
                results[name].append(
                    asyncio.run(
                        bench(url, pid, args.runs, args.clients, args.events, args.durability)
                    )
                )
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)
    _report(results)


if __name__ == "__main__":
    main()
