"""Several server processes on one PostgreSQL database (and Redis): any instance serves any
stream, cancels and multitask rules hold across instances, and runs survive the death of
their worker. Every test starts real ``relaygraph serve`` processes.

Needs ``RELAYGRAPH_TEST_POSTGRES_URL`` (each test gets its own schema) and, for the Redis
tests, ``RELAYGRAPH_TEST_REDIS_URL`` (each test gets its own bus channel) or a
``redis-server`` binary for the test that stops Redis mid-run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests._pg import fresh_schema
from tests.server.conftest import free_port, start_server

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

CONFIG = Path(__file__).resolve().parents[2] / "examples" / "ticker_project" / "langgraph.json"
REDIS_URL_VAR = "RELAYGRAPH_TEST_REDIS_URL"
LEASE_S = 1.5

Event = tuple[int, str, Any]


def redis_url_or_skip() -> str:
    url = os.environ.get(REDIS_URL_VAR)
    if not url:
        pytest.skip(f"{REDIS_URL_VAR} is not set")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as e:  # pragma: no cover - depends on the machine
        pytest.skip(f"Redis at {REDIS_URL_VAR} is unreachable: {e}")
    return url


class Cluster:
    """Server processes sharing one database schema and one bus channel."""

    def __init__(
        self, tmp: Path, database_url: str, redis_url: str | None, lease_s: float = LEASE_S
    ) -> None:
        self.tmp = tmp
        self.lease_s = lease_s
        self.database_url = database_url
        self.redis_url = redis_url
        self.channel = f"rg-test-{uuid.uuid4().hex[:8]}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.urls: list[str] = []

    def start(self, count: int = 2) -> list[str]:
        for _ in range(count):
            i = len(self.procs)
            extra = ["--config", str(CONFIG), "--database-url", self.database_url]
            extra += ["--run-lease", str(self.lease_s)]
            if self.redis_url:
                extra += ["--redis-url", self.redis_url]
            proc, url = start_server(
                self.tmp / f"data{i}",
                *extra,
                env={"RELAYGRAPH_BUS_CHANNEL": self.channel},
                log=self.tmp / f"server{i}.log",
            )
            self.procs.append(proc)
            self.urls.append(url)
        return self.urls

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
            if proc.poll() is None:
                proc.kill()

    def owner(self, run_id: str) -> int:
        """Index of the process whose worker holds ``run_id`` (waits for the claim)."""
        import psycopg

        deadline = time.monotonic() + 10
        with psycopg.connect(self.database_url) as conn:
            while time.monotonic() < deadline:
                row = conn.execute(
                    "SELECT worker_id FROM runs WHERE run_id = %s AND status = 'running'",
                    (run_id,),
                ).fetchone()
                conn.commit()
                if row and row[0]:
                    pid = int(str(row[0]).split(":")[1])
                    return [p.pid for p in self.procs].index(pid)
                time.sleep(0.02)
        raise AssertionError(f"run {run_id} was never claimed")


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    redis_url = redis_url_or_skip()
    with fresh_schema() as database_url:
        c = Cluster(tmp_path, database_url, redis_url)
        try:
            yield c
        finally:
            c.stop()


def read_sse(response: httpx.Response, limit: int | None = None) -> Iterator[Event]:
    """``(id, event, data)`` of each frame with an id, up to ``limit`` of them."""
    event, data, seq = "", b"", None
    count = 0
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data = line[6:].encode()
        elif line.startswith("id: "):
            seq = int(line[4:])
        elif line == "" and event:
            if seq is not None:
                yield seq, event, orjson.loads(data)
                count += 1
                if limit is not None and count >= limit:
                    return
            event, data, seq = "", b"", None


def join(
    url: str, thread_id: str, run_id: str, after: int | None = None, limit: int | None = None
) -> list[Event]:
    headers = {"Last-Event-ID": str(after)} if after is not None else {}
    path = f"{url}/threads/{thread_id}/runs/{run_id}/stream"
    with httpx.stream("GET", path, headers=headers, timeout=60) as response:
        assert response.status_code == 200, response.read()
        return list(read_sse(response, limit))


def new_thread(url: str) -> str:
    response = httpx.post(f"{url}/threads", json={}, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["thread_id"])


def start_run(url: str, thread_id: str, n: int, sleep: float, **body: Any) -> str:
    payload = {
        "assistant_id": "ticker",
        "input": {"n": n, "sleep": sleep},
        "stream_mode": ["values", "custom"],
        "config": {"recursion_limit": 10 * n + 10},
        **body,
    }
    response = httpx.post(f"{url}/threads/{thread_id}/runs", json=payload, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.json()["run_id"])


def wait_run(url: str, thread_id: str, run_id: str, timeout: float = 60) -> dict[str, Any]:
    response = httpx.get(f"{url}/threads/{thread_id}/runs/{run_id}/join", timeout=timeout)
    assert response.status_code == 200, response.text
    run = httpx.get(f"{url}/threads/{thread_id}/runs/{run_id}", timeout=10).json()
    return {"outcome": response.json(), "run": run}


def assert_gap_free(events: list[Event]) -> None:
    ids = [seq for seq, _, _ in events]
    assert ids == list(range(1, len(ids) + 1)), ids


def ticks_of(events: list[Event]) -> list[int]:
    return [data["tick"] for _, name, data in events if name == "custom"]


def test_stream_started_on_one_instance_is_joined_on_another(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    thread_id = new_thread(a)
    payload = {
        "assistant_id": "ticker",
        "input": {"n": 20, "sleep": 0.03},
        "stream_mode": ["values", "custom"],
    }
    with httpx.stream(
        "POST", f"{a}/threads/{thread_id}/runs/stream", json=payload, timeout=60
    ) as response:
        frames = read_sse(response)
        first = [next(frames) for _ in range(3)]
        run_id = first[0][2]["run_id"]
        joined = join(b, thread_id, run_id)  # from the first event, while it runs
        streamed = first + list(frames)
    assert_gap_free(streamed)
    assert joined == streamed
    assert ticks_of(joined) == list(range(20))
    assert httpx.get(f"{b}/threads/{thread_id}", timeout=10).json()["status"] == "idle"


def test_killed_worker_run_finishes_elsewhere_from_its_checkpoint(cluster: Cluster) -> None:
    cluster.start(2)
    thread_id = new_thread(cluster.urls[0])
    run_id = start_run(cluster.urls[0], thread_id, n=30, sleep=0.1)
    owner = cluster.owner(run_id)
    survivor = cluster.urls[1 - owner]
    before = join(survivor, thread_id, run_id, limit=12)  # the run is well under way
    cluster.procs[owner].send_signal(signal.SIGKILL)
    after = join(survivor, thread_id, run_id, after=before[-1][0])
    events = before + after
    assert_gap_free(events)
    attempts = [data["attempt"] for _, name, data in events if name == "metadata"]
    assert attempts == [1, 2]
    result = wait_run(survivor, thread_id, run_id)
    assert result["run"]["status"] == "success"
    # resumed from its last checkpoint: every tick once in the state, not restarted at 0
    assert result["outcome"]["ticks"] == list(range(30))
    resumed_at = ticks_of(after)[0]
    assert resumed_at > 0
    assert ticks_of(events)[-1] == 29


def test_shutdown_hands_runs_back_without_waiting_for_the_lease(cluster: Cluster) -> None:
    cluster.start(2)
    thread_id = new_thread(cluster.urls[0])
    run_id = start_run(cluster.urls[0], thread_id, n=25, sleep=0.1)
    owner = cluster.owner(run_id)
    survivor = cluster.urls[1 - owner]
    before = join(survivor, thread_id, run_id, limit=8)
    cluster.procs[owner].send_signal(signal.SIGTERM)
    after = join(survivor, thread_id, run_id, after=before[-1][0])
    assert_gap_free(before + after)
    result = wait_run(survivor, thread_id, run_id)
    assert result["run"]["status"] == "success"
    assert result["outcome"]["ticks"] == list(range(25))
    log = (cluster.tmp / f"server{owner}.log").read_text()
    assert "run handed back" in log


def test_cancel_and_multitask_across_instances(cluster: Cluster) -> None:
    a, b = cluster.start(2)
    thread_id = new_thread(a)
    run_id = start_run(a, thread_id, n=200, sleep=0.05)
    owner = cluster.owner(run_id)
    other = cluster.urls[1 - owner]
    # reject: the thread is busy, whichever instance is asked
    busy = httpx.post(
        f"{other}/threads/{thread_id}/runs",
        json={"assistant_id": "ticker", "input": {"n": 1}, "multitask_strategy": "reject"},
        timeout=10,
    )
    assert busy.status_code == 409
    # interrupt: a new run on the other instance stops the first one
    second = start_run(other, thread_id, n=3, sleep=0.01, multitask_strategy="interrupt")
    assert wait_run(other, thread_id, second)["run"]["status"] == "success"
    first = httpx.get(f"{other}/threads/{thread_id}/runs/{run_id}", timeout=10).json()
    assert first["status"] == "interrupted"
    # cancel from the instance that does not run it, waiting for the outcome
    third = start_run(a, thread_id, n=200, sleep=0.05)
    cluster.owner(third)
    response = httpx.post(
        f"{b}/threads/{thread_id}/runs/{third}/cancel", params={"wait": "1"}, timeout=30
    )
    assert response.status_code == 200
    run = httpx.get(f"{a}/threads/{thread_id}/runs/{third}", timeout=10).json()
    assert run["status"] == "interrupted"


def test_reconnecting_100_times_sees_every_event_once(cluster: Cluster) -> None:
    cluster.start(2)
    thread_id = new_thread(cluster.urls[0])
    run_id = start_run(cluster.urls[0], thread_id, n=150, sleep=0.02)
    seen: list[Event] = []
    for i in range(100):
        url = cluster.urls[i % 2]
        after = seen[-1][0] if seen else None
        seen += join(url, thread_id, run_id, after=after, limit=1 + i % 3)
    rest = join(cluster.urls[0], thread_id, run_id, after=seen[-1][0])
    events = seen + rest
    assert_gap_free(events)
    assert events == join(cluster.urls[1], thread_id, run_id)  # the whole log, replayed
    assert ticks_of(events) == list(range(150))


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (needed to stop Redis mid-run)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        with contextlib.suppress(redis.ConnectionError):
            redis.Redis.from_url(url).ping()
            break
        assert time.monotonic() < deadline, "private redis-server did not start"
        time.sleep(0.05)
    try:
        yield proc, url
    finally:
        proc.kill()
        proc.wait()


def test_redis_stopped_mid_run_streams_fall_back_to_the_log(
    tmp_path: Path, private_redis: tuple[subprocess.Popen[bytes], str]
) -> None:
    proc, redis_url = private_redis
    with fresh_schema() as database_url:
        cluster = Cluster(tmp_path, database_url, redis_url)
        try:
            cluster.start(2)
            thread_id = new_thread(cluster.urls[0])
            run_id = start_run(cluster.urls[0], thread_id, n=40, sleep=0.05)
            owner = cluster.owner(run_id)
            other = cluster.urls[1 - owner]
            with httpx.stream(
                "GET", f"{other}/threads/{thread_id}/runs/{run_id}/stream", timeout=60
            ) as response:
                frames = read_sse(response)
                events = [next(frames) for _ in range(5)]
                proc.kill()
                proc.wait()
                events += list(frames)
            assert_gap_free(events)
            assert ticks_of(events) == list(range(40))
            # a run created while Redis is down is still claimed (by polling)
            second = start_run(other, thread_id, n=2, sleep=0.01)
            assert wait_run(other, thread_id, second)["run"]["status"] == "success"
        finally:
            cluster.stop()


def test_without_redis_instances_signal_through_listen_notify(tmp_path: Path) -> None:
    with fresh_schema() as database_url:
        # a long lease: heartbeats (lease / 3) are too slow to be what delivers the cancel
        cluster = Cluster(tmp_path, database_url, None, lease_s=60.0)
        try:
            a, b = cluster.start(2)
            thread_id = new_thread(a)
            run_id = start_run(a, thread_id, n=200, sleep=0.05)
            owner = cluster.owner(run_id)
            other = cluster.urls[1 - owner]
            events = join(other, thread_id, run_id, limit=4)
            cancelled = httpx.post(
                f"{other}/threads/{thread_id}/runs/{run_id}/cancel",
                params={"wait": "1"},
                timeout=30,
            )
            assert cancelled.status_code == 200
            # the cancel reached the owner by NOTIFY, not by its next lease renewal (20 s)
            owner_log = (cluster.tmp / f"server{owner}.log").read_text()
            assert '"msg":"run cancel received"' in owner_log
            assert '"via":"bus"' in owner_log and '"via":"heartbeat"' not in owner_log
            events += join(other, thread_id, run_id, after=events[-1][0])
            assert_gap_free(events)
            run = httpx.get(f"{a}/threads/{thread_id}/runs/{run_id}", timeout=10).json()
            assert run["status"] == "interrupted"
            # deleting the thread on one instance removes every row of it
            assert httpx.delete(f"{b}/threads/{thread_id}", timeout=30).status_code == 204
            import psycopg

            with psycopg.connect(database_url) as conn:
                for table in ("runs", "run_events"):
                    query = f"SELECT count(*) FROM {table}"
                    if table == "runs":
                        query += " WHERE thread_id = %s"
                        count = conn.execute(query, (thread_id,)).fetchone()
                    else:
                        count = conn.execute(query + " WHERE run_id = %s", (run_id,)).fetchone()
                    assert count == (0,), table
            assert "PostgresBus" in (cluster.tmp / "server0.log").read_text()
        finally:
            cluster.stop()


async def test_run_requeued_with_a_stored_cancel_ends_instead_of_blocking_its_thread(
    tmp_path: Path,
) -> None:
    # A cancel stored while the run's worker was dying (or handing it back) must still end
    # the run once it is back in the queue; before, it stayed pending and blocked its thread.
    from relaygraph.server import ServerSettings, create_app

    settings = ServerSettings(config=CONFIG, data_dir=tmp_path / "data", heartbeat_s=0.5)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        ctx = app.state.ctx
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            thread_id = (await client.post("/threads", json={})).json()["thread_id"]
            body = {"assistant_id": "ticker", "input": {"n": 3, "sleep": 0.01}}
            await ctx.runs.stop()  # no worker claims while the scene is set up
            first = (await client.post(f"/threads/{thread_id}/runs", json=body)).json()
            second = (await client.post(f"/threads/{thread_id}/runs", json=body)).json()
            claimed = await ctx.storage.claim_run(time.time(), "dead-worker", 60.0)
            assert claimed["run_id"] == first["run_id"]
            assert await ctx.storage.request_cancel(first["run_id"], "interrupt", 0) == "running"
            requeued, _ = await ctx.storage.reap_expired(float("inf"), 3)
            assert [r["run_id"] for r in requeued] == [first["run_id"]]
            await ctx.runs.start()
            joined = await client.get(f"/threads/{thread_id}/runs/{second['run_id']}/join")
            assert joined.json()["ticks"] == [0, 1, 2]
            runs = {
                r["run_id"]: r["status"]
                for r in (await client.get(f"/threads/{thread_id}/runs")).json()
            }
            assert runs == {first["run_id"]: "interrupted", second["run_id"]: "success"}
