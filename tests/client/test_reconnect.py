"""Streams and waits over a real socket: incremental delivery, dropped connections, retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from relaygraph.client import APIConnectionError, RetryPolicy, StreamPart
from tests.client.conftest import Mode
from tests.client.fakeserver import Exchange, FakeServer, sse

T, R = "thread-1", "run-1"
STREAM_URL = f"/threads/{T}/runs/{R}/stream"
EVENTS = [("metadata", {"run_id": R, "attempt": 1})] + [("updates", {"n": i}) for i in range(1, 10)]


def resumable_server(cuts: list[int]) -> Callable[[Exchange], None]:
    """Serves EVENTS with ids 1..10; the k-th connection is cut after ``cuts[k]`` events
    (halfway through the next one); the last connection ends cleanly, and the run with it."""
    connections = iter(cuts)
    run = {"status": "running"}

    def handler(ex: Exchange) -> None:
        if ex.method == "GET" and ex.path == f"/threads/{T}/runs/{R}":
            ex.send_json(200, {"run_id": R, "status": run["status"]})
            return
        after = int(ex.headers.get("last-event-id", "0"))
        ex.start_sse({"location": STREAM_URL, "content-location": f"/threads/{T}/runs/{R}"})
        stop = next(connections, None)
        sent = 0
        for i, (event, data) in enumerate(EVENTS, start=1):
            if i <= after:
                continue
            frame = sse(event, data, str(i))
            if stop is not None and sent == stop:
                ex.chunk(frame[: len(frame) // 2])  # half an event, then the line goes dead
                ex.cut()
                return
            ex.chunk(frame)
            sent += 1
        run["status"] = "success"
        ex.end()

    return handler


async def test_dropped_stream_resumes_from_last_event_id_without_loss_or_repeats(
    mode: Mode,
) -> None:
    with FakeServer(resumable_server(cuts=[3, 0, 4])) as server:
        client = mode.client(server.url)
        parts = await mode.collect(
            client.runs.stream(T, "agent", input={}, stream_mode="updates", stream_resumable=True)
        )
        await mode.close(client)
    assert parts == [StreamPart(e, d, str(i)) for i, (e, d) in enumerate(EVENTS, start=1)]
    rejoins = [r for r in server.requests if r.path == STREAM_URL]
    assert [r.headers.get("last-event-id") for r in rejoins] == ["3", "3", "7"]
    assert all(r.method == "GET" for r in rejoins)
    # a clean end is confirmed once with the run's status; a drop with an id needs no check
    assert server.paths().count(f"GET /threads/{T}/runs/{R}") == 1


async def test_reconnect_gives_up_after_the_policy_attempts(mode: Mode) -> None:
    def handler(ex: Exchange) -> None:
        if ex.path == f"/threads/{T}/runs/{R}":
            ex.send_json(200, {"status": "running"})
            return
        ex.start_sse({"location": STREAM_URL})
        ex.chunk(sse("metadata", {"run_id": R}, "1")[:10])  # not even one whole event
        ex.cut()

    with FakeServer(handler) as server:
        client = mode.client(server.url, retry=RetryPolicy(max_attempts=2, initial_delay=0.001))
        with pytest.raises(APIConnectionError, match="gave up after 2 reconnects") as info:
            await mode.collect(client.runs.stream(T, "agent", input={}))
        await mode.close(client)
    # no id to resume from: each drop first asks whether the run still runs
    status, rejoin = f"GET /threads/{T}/runs/{R}", f"GET {STREAM_URL}"
    assert server.paths() == [
        f"POST /threads/{T}/runs/stream",
        status,
        rejoin,
        status,
        rejoin,
        status,
    ]
    assert info.value.__cause__ is not None  # the transport error that ended it


async def test_attempts_reset_when_events_flow_again(mode: Mode) -> None:
    # five drops, each after progress: more than max_attempts=3 in total, never 3 in a row
    with FakeServer(resumable_server(cuts=[1, 1, 1, 1, 1])) as server:
        client = mode.client(server.url)
        parts = await mode.collect(client.runs.stream(T, "agent", input={}))
        await mode.close(client)
    assert [p.id for p in parts] == [str(i) for i in range(1, 11)]


async def test_non_resumable_drop_rejoins_only_a_live_run(mode: Mode) -> None:
    # no ids: a drop asks the run's status; running -> rejoin (without Last-Event-ID)
    run = {"status": "running"}

    def handler(ex: Exchange) -> None:
        if ex.method == "GET" and ex.path == f"/threads/{T}/runs/{R}":
            ex.send_json(200, run)
        elif ex.method == "POST":
            ex.start_sse({"location": STREAM_URL})
            ex.chunk(sse("metadata", {"run_id": R}))
            ex.chunk(sse("updates", {"n": 1}))
            ex.cut()
        else:
            ex.start_sse({"location": STREAM_URL})
            ex.chunk(sse("updates", {"n": 2}))
            run["status"] = "success"
            ex.end()

    with FakeServer(handler) as server:
        client = mode.client(server.url)
        parts = await mode.collect(client.runs.stream(T, "agent", input={}))
        await mode.close(client)
    assert [p.data for p in parts] == [{"run_id": R}, {"n": 1}, {"n": 2}]
    rejoin = next(r for r in server.requests if r.method == "GET" and r.path == STREAM_URL)
    assert "last-event-id" not in rejoin.headers


async def test_clean_end_of_a_finished_run_costs_one_status_check(mode: Mode) -> None:
    with FakeServer(resumable_server(cuts=[])) as server:
        client = mode.client(server.url)
        parts = await mode.collect(client.runs.stream(T, "agent", input={}))
        await mode.close(client)
    assert len(parts) == len(EVENTS)
    assert server.paths() == [f"POST /threads/{T}/runs/stream", f"GET /threads/{T}/runs/{R}"]


async def test_error_and_end_events_stop_the_stream_without_a_status_check(mode: Mode) -> None:
    def handler(ex: Exchange) -> None:
        ex.start_sse({"location": STREAM_URL})
        ex.chunk(sse("metadata", {"run_id": R}))
        ex.chunk(sse("error", {"error": "ValueError", "message": "kaboom"}))
        ex.chunk(sse("values", {"after": "error"}))  # never read
        ex.end()

    with FakeServer(handler) as server:
        client = mode.client(server.url)
        parts = await mode.collect(client.runs.stream(T, "agent", input={}))
        await mode.close(client)
    assert [p.event for p in parts] == ["metadata", "error"]
    assert parts[1].data == {"error": "ValueError", "message": "kaboom"}
    assert server.paths() == [f"POST /threads/{T}/runs/stream"]


async def test_stateless_stream_drop_without_location_raises(mode: Mode) -> None:
    def handler(ex: Exchange) -> None:
        ex.start_sse()
        ex.chunk(sse("metadata", {"run_id": R}))
        ex.cut()

    with FakeServer(handler) as server:
        client = mode.client(server.url)
        got: list[StreamPart] = []
        with pytest.raises(APIConnectionError):
            stream = client.runs.stream(None, "agent", input={})
            if mode.name == "async":
                async for part in stream:
                    got.append(part)
            else:
                for part in stream:
                    got.append(part)
        await mode.close(client)
    assert [p.event for p in got] == ["metadata"]  # what arrived before the drop was delivered


async def test_events_arrive_while_the_body_is_still_open(mode: Mode) -> None:
    # The server holds the rest of the body until the client has seen the first event: a
    # client that buffered the response would wait forever (and fail the timeout).
    first_seen = threading.Event()

    def handler(ex: Exchange) -> None:
        ex.start_sse()
        ex.chunk(sse("metadata", {"run_id": R}))
        assert first_seen.wait(5), "the client did not see the first event while streaming"
        ex.chunk(sse("values", {"done": True}))
        ex.end()

    with FakeServer(handler) as server:
        client = mode.client(server.url)
        seen = []
        stream = client.runs.stream(None, "agent", input={})
        if mode.name == "async":
            async for part in stream:
                seen.append(part.event)
                first_seen.set()
        else:
            for part in stream:
                seen.append(part.event)
                first_seen.set()
        await mode.close(client)
    assert seen == ["metadata", "values"]


async def test_thread_join_stream_reconnects_to_its_own_url(mode: Mode) -> None:
    calls = {"n": 0}

    def handler(ex: Exchange) -> None:
        calls["n"] += 1
        ex.start_sse()
        if calls["n"] == 1:
            ex.chunk(sse("values", {"a": 1}, "5"))
            ex.cut()
        else:
            ex.chunk(sse("values", {"a": 2}, "6"))
            ex.end()

    with FakeServer(handler) as server:
        client = mode.client(server.url)
        parts = await mode.collect(client.threads.join_stream(T, last_event_id="4"))
        await mode.close(client)
    assert [p.data for p in parts] == [{"a": 1}, {"a": 2}]
    assert [r.headers.get("last-event-id") for r in server.requests] == ["4", "5"]
    assert server.requests[1].query == {"stream_mode": "run_modes"}


async def test_wait_rereads_the_result_from_location_after_a_drop(mode: Mode) -> None:
    def handler(ex: Exchange) -> None:
        if ex.method == "POST":
            ex.start_chunked("application/json", {"location": f"/threads/{T}/runs/{R}/join"})
            ex.chunk(b"\n")  # a keep-alive, then the line dies
            ex.cut()
        else:
            ex.send_json(200, {"topic": "done"})

    with FakeServer(handler) as server:
        client = mode.client(server.url)
        result = await mode.call(client.runs.wait(T, "agent", input={"topic": "x"}))
        await mode.close(client)
    assert result == {"topic": "done"}
    assert server.paths() == [f"POST /threads/{T}/runs/wait", f"GET /threads/{T}/runs/{R}/join"]


async def test_wait_reads_a_slow_body_with_keepalives(mode: Mode) -> None:
    def handler(ex: Exchange) -> None:
        ex.start_chunked("application/json")
        for _ in range(3):
            ex.chunk(b"\n")
            time.sleep(0.02)
        ex.chunk(b'{"__error__": {"error": "ValueError", "message": "kaboom"}}')
        ex.end()

    from relaygraph.client import RunError

    with FakeServer(handler) as server:
        client = mode.client(server.url)
        with pytest.raises(RunError, match="ValueError: kaboom") as info:
            await mode.call(client.runs.wait(None, "boom", input={}))
        assert info.value.error == "ValueError"
        raw = await mode.call(client.runs.wait(None, "boom", input={}, raise_error=False))
        await mode.close(client)
    assert raw == {"__error__": {"error": "ValueError", "message": "kaboom"}}
