"""Scale-out load test: concurrent streaming clients against several ``relaygraph serve``
processes sharing one PostgreSQL schema and one Redis channel.

    .venv/bin/python bench/bench_scaleout.py [--clients 64] [--duration 60] [--instances 2]

Starts ``--instances`` servers on a fresh schema (dropped at the end) and a fresh bus channel,
then ``--clients`` clients for ``--duration`` seconds. Each client loops: create a thread on a
random instance, ``POST /threads/{id}/runs/stream`` a ``ticker`` run (``--steps`` steps of
``--sleep`` seconds, one custom event each, ``stream_mode=["values", "custom"]``) on a random
instance, and read the stream to its end. Every stream is checked: event ids gap-free from 1,
no duplicates, one ``metadata`` event with the run id, every tick exactly once and in order,
the final ``values`` holding all ticks. Every ``--join-every``-th run is then joined on
*another* instance (``GET /threads/{tid}/runs/{rid}/stream``) and its replayed log must equal
what was streamed.

Reports runs completed, runs/s, events/s, time to first event (request sent → first event
with an id) p50/p95/p99, lost and duplicated events (must be 0), failed requests, and the
servers' CPU per run (``/proc`` utime+stime of every server process, before/after), with the
CPU used by the clients, the local PostgreSQL and the whole machine. ``not_live_streams``
counts streams whose events all came in a burst (first to last event in less than half the
run's sleeping time): complete, but not delivered live.

Clients and servers share the machine: on two cores the figures are bounded by CPU, not by
the servers' design. ``--client-procs`` spreads the clients over several processes when one
client process would be the bottleneck; the clients' own CPU is reported too.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from _harness import cpu_seconds, free_port, fresh_schema

DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"

PROJECT = Path(__file__).resolve().parents[1] / "examples" / "ticker_project"

Frame = tuple[int, str, str]  # (id, event, raw data)


@dataclass
class Run:
    """What one client saw of one streamed run."""

    ttfe: float = 0.0
    seconds: float = 0.0
    events: int = 0
    span: float = 0.0  # first event with an id → last one
    lost: int = 0
    duplicated: int = 0
    joined: bool = False
    error: str = ""


@dataclass
class Params:
    urls: list[str]
    steps: int
    sleep: float
    join_every: int
    timeout: float
    start_at: float  # time.time() at which the clients start
    end_at: float  # time.time() after which they start no new run


@dataclass
class ClientReport:
    runs: list[Run] = field(default_factory=list)
    cpu_s: float = 0.0


# -- servers -------------------------------------------------------------------------------


def _postgrescpu_seconds() -> float:
    """CPU seconds of the local PostgreSQL: its live processes plus the backends its
    postmaster has reaped (0 when it runs elsewhere). Counts every database's sessions."""
    stats: dict[int, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            text = stat.read_text()
            if "(postgres)" in text:
                stats[int(stat.parent.name)] = text.rsplit(")", 1)[1].split()
    total = 0
    for fields in stats.values():
        total += int(fields[11]) + int(fields[12])
        if int(fields[1]) not in stats:  # the postmaster: add its reaped backends
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (all cores; PostgreSQL and Redis too)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def start_servers(
    work: Path, count: int, database_url: str, redis_url: str, n_jobs: int | None
) -> tuple[list[subprocess.Popen[bytes]], list[str]]:
    env = {**os.environ, "RELAYGRAPH_BUS_CHANNEL": f"rg-bench-{uuid.uuid4().hex[:8]}"}
    procs: list[subprocess.Popen[bytes]] = []
    urls: list[str] = []
    for i in range(count):
        port = free_port()
        cmd = [
            sys.executable, "-m", "relaygraph.cli", "serve",
            "--config", str(PROJECT / "langgraph.json"),
            "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(work / f"data{i}"),
            "--database-url", database_url, *(["--redis-url", redis_url] if redis_url else []),
            "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        if n_jobs is not None:
            cmd += ["--n-jobs", str(n_jobs)]
        with (work / f"server{i}.log").open("wb") as log:
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log))
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 60
    for i, (proc, url) in enumerate(zip(procs, urls, strict=True)):
        while True:
            if proc.poll() is not None:
                stop_servers(procs)
                raise RuntimeError((work / f"server{i}.log").read_text())
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/ok", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                stop_servers(procs)
                raise RuntimeError(f"server {i} did not start")
            time.sleep(0.05)
    return procs, urls


def stop_servers(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(15)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- clients -------------------------------------------------------------------------------


async def _read(response: httpx.Response, start: float, run: Run, frames: list[Frame]) -> None:
    """Appends the stream's frames that carry an id; sets ``run.ttfe`` at the first one."""
    event, data, seq = "", "", None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line.startswith("id: "):
            seq = int(line[4:])
        elif line == "" and event:
            if seq is None:
                run.error = run.error or f"event without id: {event} {data[:200]}"
            else:
                run.span = time.perf_counter() - start - run.ttfe
                if not frames:
                    run.ttfe, run.span = time.perf_counter() - start, 0.0
                frames.append((seq, event, data))
            if event == "error":
                run.error = run.error or f"error event: {data[:200]}"
            event, data, seq = "", "", None


def check(frames: list[Frame], steps: int, run: Run) -> str:
    """Counts lost/duplicated events of one whole stream into ``run``; returns its run id."""
    ids = [seq for seq, _, _ in frames]
    unique = set(ids)
    run.duplicated += len(ids) - len(unique)
    expected = 2 * steps + 2  # metadata, values before each step and after the last, ticks
    wanted = set(range(1, expected + 1))
    run.lost += len(wanted - unique)
    if ids != sorted(ids) or unique - wanted:
        run.error = run.error or f"ids: {ids}"
    ticks = [json.loads(d)["tick"] for _, e, d in frames if e == "custom"]
    run.duplicated += len(ticks) - len(set(ticks))  # replayed under new ids
    if ticks != list(range(steps)):
        run.error = run.error or f"ticks: {ticks}"
    values = [d for _, e, d in frames if e == "values"]
    if not values or json.loads(values[-1]).get("ticks") != list(range(steps)):
        run.error = run.error or f"final values wrong: {values[-1:] or None}"
    metadata = [d for _, e, d in frames if e == "metadata"]
    if len(metadata) != 1 or not frames or frames[0][1] != "metadata":
        run.error = run.error or f"metadata events: {metadata}"
        return ""
    return str(json.loads(metadata[0])["run_id"])


async def one_run(http: httpx.AsyncClient, p: Params, i: int) -> Run:
    run = Run()
    rng = random.Random()
    stream_url = rng.choice(p.urls)
    body = {
        "assistant_id": "ticker",
        "input": {"n": p.steps, "sleep": p.sleep},
        "stream_mode": ["values", "custom"],
        "config": {"recursion_limit": 2 * p.steps + 10},
    }
    started = time.perf_counter()
    stage, tid, frames = "POST /threads", "", []
    try:
        response = await http.post(f"{rng.choice(p.urls)}/threads", json={})
        if response.status_code != 200:
            run.error = f"POST /threads: {response.status_code} {response.text[:200]}"
            return run
        tid = response.json()["thread_id"]
        start = time.perf_counter()
        stage = f"POST {stream_url}/threads/{tid}/runs/stream"
        path = f"{stream_url}/threads/{tid}/runs/stream"
        async with http.stream("POST", path, json=body) as response:
            if response.status_code != 200:
                await response.aread()
                run.error = f"POST runs/stream: {response.status_code} {response.text[:200]}"
                return run
            await _read(response, start, run, frames)
        run.seconds = time.perf_counter() - started
        run.events = len(frames)
        run_id = check(frames, p.steps, run)
        if run_id and p.join_every and i % p.join_every == 0 and len(p.urls) > 1:
            other = rng.choice([u for u in p.urls if u != stream_url])
            stage, replay = f"GET {other}/threads/{tid}/runs/{run_id}/stream", []
            async with http.stream("GET", f"{other}/threads/{tid}/runs/{run_id}/stream") as r:
                if r.status_code != 200:
                    await r.aread()
                    run.error = run.error or f"join: {r.status_code} {r.text[:200]}"
                    return run
                await _read(r, time.perf_counter(), Run(), replay)
            run.joined = True
            if replay != frames:
                parsed = [(s, e, json.loads(d)) for s, e, d in replay]
                if parsed != [(s, e, json.loads(d)) for s, e, d in frames]:
                    run.error = run.error or (
                        f"join on {other} replayed {[s for s, _, _ in replay]}, "
                        f"streamed {[s for s, _, _ in frames]} (run {run_id})"
                    )
    except httpx.HTTPError as e:
        seen = [s for s, _, _ in frames]
        run_ids = [json.loads(d)["run_id"] for _, e, d in frames if e == "metadata"]
        run.error = (
            f"{type(e).__name__} {e} at {stage} after {time.perf_counter() - started:.2f} s, "
            f"ids {seen[:1]}..{seen[-1:]} (run {run_ids[:1]})"
        )
    return run


async def clients(p: Params, count: int) -> ClientReport:
    report = ClientReport()
    # idle connections expire before uvicorn's 5 s keep-alive closes them: at equal expiry a
    # request can go out on a connection the server is closing (a ReadError, not a failure)
    limits = httpx.Limits(
        max_connections=count * 2, max_keepalive_connections=count * 2, keepalive_expiry=2.0
    )
    timeout = httpx.Timeout(p.timeout, connect=p.timeout)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:

        async def client(c: int) -> None:
            i = c  # stagger the joins across clients
            while time.time() < p.end_at:
                report.runs.append(await one_run(http, p, i))
                i += 1

        await asyncio.sleep(max(0.0, p.start_at - time.time()))
        cpu0 = time.process_time()
        await asyncio.gather(*(client(c) for c in range(count)))
        report.cpu_s = time.process_time() - cpu0
    return report


def client_process(p: Params, count: int) -> ClientReport:
    return asyncio.run(clients(p, count))


# -- the bench -----------------------------------------------------------------------------


def _pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def bench(args: argparse.Namespace, urls: list[str], pids: list[int]) -> dict[str, Any]:
    # load the graph and open the pools on every instance
    warm = Params(urls, args.steps, args.sleep, 1, args.timeout, 0.0, time.time() + 2)
    bad = [r.error for r in client_process(warm, 2 * len(urls)).runs if r.error]
    if bad:
        raise RuntimeError(f"warm-up run failed: {bad[0]}")
    procs = max(1, args.client_procs)
    shares = [args.clients // procs + (k < args.clients % procs) for k in range(procs)]
    start_at = time.time() + (1.5 if procs > 1 else 0.2)
    p = Params(urls, args.steps, args.sleep, args.join_every, args.timeout, start_at, 0.0)
    p.end_at = start_at + args.duration
    if procs == 1:
        cpu0 = [cpu_seconds(pid) for pid in pids]
        busy0, pg0 = _machine_busy_seconds(), _postgrescpu_seconds()
        t0 = time.perf_counter()
        reports = [client_process(p, shares[0])]
    else:
        with concurrent.futures.ProcessPoolExecutor(procs) as pool:
            futures = [pool.submit(client_process, p, n) for n in shares]
            time.sleep(max(0.0, start_at - time.time()))
            cpu0 = [cpu_seconds(pid) for pid in pids]
            busy0, pg0 = _machine_busy_seconds(), _postgrescpu_seconds()
            t0 = time.perf_counter()
            reports = [f.result() for f in futures]
    elapsed = time.perf_counter() - t0
    server_cpu = sum(cpu_seconds(pid) for pid in pids) - sum(cpu0)
    busy = _machine_busy_seconds() - busy0
    postgres = _postgrescpu_seconds() - pg0
    runs = [r for rep in reports for r in rep.runs]
    ok = [r for r in runs if not r.error]
    ttfe = sorted(r.ttfe * 1000 for r in ok if r.ttfe)
    errors: dict[str, int] = {}
    for r in runs:
        if r.error:
            key = r.error[:300]
            errors[key] = errors.get(key, 0) + 1
    return {
        "instances": len(urls),
        "clients": args.clients,
        "client_procs": procs,
        "duration_s": round(elapsed, 2),
        "steps": args.steps,
        "sleep_s": args.sleep,
        "n_jobs": args.n_jobs,
        "runs_completed": len(ok),
        "runs_per_s": len(ok) / elapsed,
        "events_per_s": sum(r.events for r in ok) / elapsed,
        "ttfe_p50_ms": _pct(ttfe, 50),
        "ttfe_p95_ms": _pct(ttfe, 95),
        "ttfe_p99_ms": _pct(ttfe, 99),
        "run_p50_ms": _pct(sorted(r.seconds * 1000 for r in ok), 50),
        "joins_checked": sum(r.joined for r in ok),
        "not_live_streams": sum(r.span < args.steps * args.sleep / 2 for r in ok),
        "lost_events": sum(r.lost for r in runs),
        "duplicated_events": sum(r.duplicated for r in runs),
        "failed_runs": len(runs) - len(ok),
        "server_cpu_ms_per_run": server_cpu / max(1, len(ok)) * 1000,
        "server_cpu_util": server_cpu / elapsed,
        "client_cpu_util": sum(rep.cpu_s for rep in reports) / elapsed,
        "postgres_cpu_util": postgres / elapsed,
        "machine_cpu_util": busy / elapsed,
        "cores": os.cpu_count(),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--duration", type=float, default=60, help="seconds (default: 60)")
    parser.add_argument("--instances", type=int, default=2)
    parser.add_argument("--steps", type=int, default=5, help="ticks per run (default: 5)")
    parser.add_argument("--sleep", type=float, default=0.01, help="seconds per tick")
    parser.add_argument(
        "--join-every", type=int, default=4, help="join every Nth run on another instance"
    )
    parser.add_argument(
        "--client-procs", type=int, default=1, help="client processes sharing --clients"
    )
    parser.add_argument("--n-jobs", type=int, default=None, help="each server's --n-jobs")
    parser.add_argument("--timeout", type=float, default=60, help="per-request timeout")
    parser.add_argument(
        "--database-url", default=os.environ.get("RELAYGRAPH_TEST_POSTGRES_URL", DATABASE_URL)
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("RELAYGRAPH_TEST_REDIS_URL", REDIS_URL)
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs in this folder")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="relaygraph-bench-scaleout-"))
    try:
        with fresh_schema(args.database_url) as database_url:
            procs, urls = start_servers(
                work, args.instances, database_url, args.redis_url, args.n_jobs
            )
            try:
                results = bench(args, urls, [p.pid for p in procs])
            finally:
                stop_servers(procs)
                results_logs = {
                    f"server{i}": (work / f"server{i}.log").read_text(errors="replace")
                    for i in range(len(procs))
                }
    finally:
        if args.logs:
            args.logs.mkdir(parents=True, exist_ok=True)
            for log in work.glob("server*.log"):
                shutil.copy(log, args.logs / log.name)
        shutil.rmtree(work, ignore_errors=True)

    errors = results.pop("errors")
    for key, value in results.items():
        shown = f"{value:12.2f}" if isinstance(value, float) else f"{value!s:>12}"
        print(f"{key:24s} {shown}")
    for message, count in sorted(errors.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {count:6d} x {message}")
    for name, text in results_logs.items():
        worrying = [ln for ln in text.splitlines() if "Traceback" in ln or "ERROR" in ln]
        if worrying:
            print(f"{name}: {len(worrying)} error lines in its log, e.g. {worrying[0][:200]}")
    if args.json:
        args.json.write_text(json.dumps({**results, "errors": errors}, indent=2) + "\n")
    bad = results["lost_events"] or results["duplicated_events"] or results["failed_runs"]
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
