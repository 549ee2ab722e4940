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

Client and server share the machine, so on two cores the client's own CPU caps the figures.
The client parses SSE minimally (raw httpx); the official SDK costs more per event.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "agent_project" / "graphs.py"

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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    url: str, pid: int, runs: int, clients: int, n_events: int, durability: str = "async"
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

        cpu0 = _cpu_seconds(pid)
        start = time.perf_counter()
        await asyncio.gather(*(client(t) for t in tids))
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds(pid) - cpu0
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
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="relaygraph-bench-"))
    try:
        shutil.copy(EXAMPLE, work / "graphs.py")
        (work / "firehose.py").write_text(FIREHOSE)
        (work / "langgraph.json").write_text(
            json.dumps(
                {"graphs": {"agent": "./graphs.py:agent", "firehose": "./firehose.py:firehose"}}
            )
        )
        port = _free_port()
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
            ],
            stdout=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/ok", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            results = asyncio.run(
                bench(url, proc.pid, args.runs, args.clients, args.events, args.durability)
            )
        finally:
            proc.terminate()
            proc.wait(10)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for key, value in results.items():
        print(f"{key:24s} {value:12.2f}")


if __name__ == "__main__":
    main()
