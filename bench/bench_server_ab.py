"""Server CPU per run of two source trees, measured side by side in alternating rounds.

    .venv/bin/python bench/bench_server_ab.py OLD_SRC NEW_SRC [--rounds 10] [--runs 400]

Each tree's ``src`` folder (e.g. a ``git worktree`` of an older commit, and ``src``) serves the
example project's ``agent`` graph from its own ``relaygraph serve`` process (SQLite, default
settings; ``PYTHONPATH`` picks the tree). Each round streams ``--runs`` runs from ``--clients``
concurrent clients against one server, then the other, and reads the server process's CPU time
from ``/proc``. Threads accumulate runs over the rounds, as a long-lived thread does.

On a VM whose speed drifts, absolute figures from different times do not compare; rounds that
alternate within one invocation do. Prints, for each tree, the best and median CPU ms per run
and runs/s, and the median of the per-round ratios NEW/OLD.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from _harness import cpu_seconds, free_port, wait_ok

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "agent_project" / "graphs.py"
BODY = {"assistant_id": "agent", "input": {"topic": "x"}, "stream_mode": "updates"}


def _start(src: str, work: Path) -> tuple[str, subprocess.Popen[bytes]]:
    work.mkdir(parents=True)
    shutil.copy(EXAMPLE, work / "graphs.py")
    (work / "langgraph.json").write_text('{"graphs": {"agent": "./graphs.py:agent"}}')
    port = free_port()
    command = [sys.executable, "-m", "relaygraph.cli", "serve", "--config"]
    command += [str(work / "langgraph.json"), "--host", "127.0.0.1", "--port", str(port)]
    command += ["--data-dir", str(work / "data"), "--no-access-log", "--log-level", "warning"]
    env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_ok(url, proc)
    return url, proc


async def _rounds(
    urls: list[str], pids: list[int], rounds: int, runs: int, clients: int
) -> list[list[tuple[float, float]]]:
    limits = httpx.Limits(max_connections=clients * 2)
    https = [httpx.AsyncClient(base_url=u, timeout=60, limits=limits) for u in urls]
    try:
        threads = [
            [str((await h.post("/threads", json={})).json()["thread_id"]) for _ in range(clients)]
            for h in https
        ]

        async def client(http: httpx.AsyncClient, thread_id: str, n: int) -> None:
            for _ in range(n):
                path = f"/threads/{thread_id}/runs/stream"
                async with http.stream("POST", path, json=BODY) as response:
                    async for _ in response.aiter_raw():
                        pass

        for http, tids in zip(https, threads, strict=True):  # warm up
            await asyncio.gather(*(client(http, t, 20) for t in tids))
        results: list[list[tuple[float, float]]] = [[] for _ in urls]
        per_client = max(1, runs // clients)
        for i in range(rounds):
            for j, (http, tids) in enumerate(zip(https, threads, strict=True)):
                cpu0, start = cpu_seconds(pids[j]), time.perf_counter()
                await asyncio.gather(*(client(http, t, per_client) for t in tids))
                elapsed = time.perf_counter() - start
                done = per_client * clients
                cpu_ms = (cpu_seconds(pids[j]) - cpu0) / done * 1000
                results[j].append((cpu_ms, done / elapsed))
            print(f"round {i + 1}/{rounds}", file=sys.stderr)
        return results
    finally:
        for http in https:
            await http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("old_src", help="the baseline tree's src folder")
    parser.add_argument("new_src", help="the tree to compare with it")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (10)")
    parser.add_argument("--runs", type=int, default=400, help="runs per round per server (400)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    args = parser.parse_args()
    srcs = [args.old_src, args.new_src]
    with tempfile.TemporaryDirectory(prefix="relaygraph-ab-") as tmp:
        started = [_start(src, Path(tmp) / f"tree{i}") for i, src in enumerate(srcs)]
        try:
            results = asyncio.run(
                _rounds(
                    [u for u, _ in started],
                    [p.pid for _, p in started],
                    args.rounds,
                    args.runs,
                    args.clients,
                )
            )
        finally:
            for _, proc in started:
                proc.terminate()
                proc.wait(timeout=30)
    for src, rows in zip(srcs, results, strict=True):
        cpu = sorted(r[0] for r in rows)
        rate = sorted(r[1] for r in rows)
        print(
            f"{src}: CPU per run best {cpu[0]:.2f} ms, median {statistics.median(cpu):.2f} ms;"
            f" runs/s best {rate[-1]:.0f}, median {statistics.median(rate):.0f}"
        )
    ratios = [new[0] / old[0] for old, new in zip(results[0], results[1], strict=True)]
    print(f"CPU per run, new / old: median of rounds {statistics.median(ratios):.3f}")


if __name__ == "__main__":
    main()
