"""``GET /threads/{thread_id}/stream``: a thread's runs, one after another, on a stream that
stays open (``12_thread_stream_GET_threads_id_stream``). Live against a real server, since
the stream never ends; errors answered before it starts go through the in-process app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from relaygraph.server._thread_stream import parse_last_event_id

Frame = tuple[str, Any, str | None]


async def read_frames(response: httpx.Response, runs: int, timeout: float = 20) -> list[Frame]:
    """The stream's events until the ``run_done`` of ``runs`` runs."""
    out: list[Frame] = []

    async def go() -> None:
        done = 0
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line.startswith(":"):
                continue
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            if "event" in fields:
                out.append((fields["event"], json.loads(fields["data"]), fields.get("id")))
                if fields["event"] == "metadata" and out[-1][1].get("status") == "run_done":
                    done += 1
                    if done == runs:
                        return
            fields = {}

    await asyncio.wait_for(go(), timeout)
    return out


@pytest.fixture
async def http(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as c:
        yield c


async def new_thread(http: httpx.AsyncClient) -> str:
    tid: str = (await http.post("/threads", json={})).json()["thread_id"]
    return tid


async def start_run(http: httpx.AsyncClient, tid: str, topic: str) -> str:
    body = {"assistant_id": "agent", "input": {"topic": topic}, "stream_mode": "updates"}
    r = await http.post(f"/threads/{tid}/runs", json=body)
    assert r.status_code == 200, r.text
    run_id: str = r.json()["run_id"]
    return run_id


def order(event_id: str | None) -> tuple[int, int]:
    assert event_id is not None
    run, _, seq = event_id.partition("-")
    return int(run), int(seq)


async def two_runs(http: httpx.AsyncClient) -> tuple[str, list[str], list[Frame]]:
    """A thread, the two runs made on it while a stream was open, and what that stream got."""
    tid = await new_thread(http)
    async with http.stream("GET", f"/threads/{tid}/stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert response.headers["cache-control"] == "no-store"
        run_ids = [await start_run(http, tid, "one"), await start_run(http, tid, "two")]
        frames = await read_frames(response, runs=2)
    return tid, run_ids, frames


def expected_run(run_id: str, topic: str) -> list[tuple[str, Any]]:
    return [
        ("metadata", {"run_id": run_id, "attempt": 1}),
        ("updates", {"refine_topic": {"topic": f"{topic} and cats"}}),
        ("updates", {"generate_joke": {"joke": f"This is a joke about {topic} and cats"}}),
        ("metadata", {"status": "run_done", "run_id": run_id}),
    ]


async def test_relays_each_new_run_then_run_done(http: httpx.AsyncClient) -> None:
    _, (r1, r2), frames = await two_runs(http)
    assert [(e, d) for e, d, _ in frames] == expected_run(r1, "one") + expected_run(r2, "two")
    ids = [order(i) for _, _, i in frames]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # run_done takes the seq after the run's last event
    assert ids[3] == (ids[2][0], ids[2][1] + 1)


async def test_last_event_id_resumes(http: httpx.AsyncClient) -> None:
    tid, _, frames = await two_runs(http)
    whole = [(e, d) for e, d, _ in frames]
    for last_id, skipped in [("-", 0), ("0", 0), (frames[1][2], 2), (frames[3][2], 4)]:
        headers = {"Last-Event-ID": str(last_id)}
        async with http.stream("GET", f"/threads/{tid}/stream", headers=headers) as response:
            got = await read_frames(response, runs=2 if skipped < 4 else 1)
        assert [(e, d) for e, d, _ in got] == whole[skipped:]
        assert [i for _, _, i in got] == [i for _, _, i in frames[skipped:]]


async def test_lifecycle_mode(http: httpx.AsyncClient) -> None:
    tid, (r1, r2), _ = await two_runs(http)
    async with http.stream(
        "GET",
        f"/threads/{tid}/stream?stream_modes=lifecycle",
        headers={"Last-Event-ID": "-"},
    ) as response:
        got = await read_frames(response, runs=2)
    assert [d for _, d, _ in got] == [
        {"run_id": r1, "attempt": 1},
        {"status": "run_done", "run_id": r1},
        {"run_id": r2, "attempt": 1},
        {"status": "run_done", "run_id": r2},
    ]


async def test_joins_a_run_in_flight_from_its_start(http: httpx.AsyncClient) -> None:
    tid = await new_thread(http)
    body = {"assistant_id": "custom", "input": {"n": 3, "sleep": 0.3}, "stream_mode": "custom"}
    run_id = (await http.post(f"/threads/{tid}/runs", json=body)).json()["run_id"]
    for _ in range(100):
        if (await http.get(f"/threads/{tid}/runs/{run_id}")).json()["status"] == "running":
            break
        await asyncio.sleep(0.02)
    async with http.stream("GET", f"/threads/{tid}/stream") as response:
        got = await read_frames(response, runs=1)
    log = await http.get(
        f"/threads/{tid}/runs/{run_id}/stream", headers={"Last-Event-ID": "0"}
    )  # the run's whole log, now that it is over
    whole = [(e, json.loads(d)) for e, d in _sse_pairs(log.text)]
    assert whole[0] == ("metadata", {"run_id": run_id, "attempt": 1})
    assert [(e, d) for e, d, _ in got] == [
        *whole,
        ("metadata", {"status": "run_done", "run_id": run_id}),
    ]


def _sse_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "event" in fields:
            pairs.append((fields["event"], fields["data"]))
    return pairs


async def test_idle_stream_heartbeats_and_closes_when_the_thread_goes(
    http: httpx.AsyncClient,
) -> None:
    tid = await new_thread(http)
    async with http.stream("GET", f"/threads/{tid}/stream") as response:
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(chunks.__anext__(), 5)
        assert first == b": heartbeat\r\n\r\n"
        assert (await http.delete(f"/threads/{tid}")).status_code == 204
        rest = await asyncio.wait_for(_drain(chunks), 5)
    assert set(rest.split(b"\r\n\r\n")) <= {b": heartbeat", b""}


async def _drain(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


async def test_official_sdk_join_stream(live_url: str, http: httpx.AsyncClient) -> None:
    tid, _, frames = await two_runs(http)
    sdk = get_client(url=live_url, api_key=None)
    try:
        # The SDK sends ``stream_mode``; the reference reads ``stream_modes``, so it has no
        # effect there, nor here.
        stream = await sdk.threads.join_stream(
            tid, last_event_id=frames[4][2], stream_mode="lifecycle"
        )
        parts = []
        async for part in stream:
            parts.append(part)
            if part.event == "metadata" and part.data.get("status") == "run_done":
                break
        await stream.aclose()
    finally:
        await sdk.aclose()
    assert [(p.event, p.data, p.id) for p in parts] == frames[5:]


# == errors before the stream starts =======================================================
async def test_errors(client: httpx.AsyncClient) -> None:
    missing = await client.get("/threads/00000000-0000-0000-0000-000000000000/stream")
    assert missing.status_code == 404
    assert missing.json() == {
        "detail": "Thread with ID 00000000-0000-0000-0000-000000000000 not found"
    }
    bad = await client.get("/threads/nope/stream")
    assert (bad.status_code, bad.json()) == (422, {"detail": "Invalid thread ID: must be a UUID"})
    tid = (await client.post("/threads", json={})).json()["thread_id"]
    for query in ("stream_modes=values", 'stream_modes=["lifecycle","x"]', "stream_modes=[1"):
        r = await client.get(f"/threads/{tid}/stream?{query}")
        assert r.status_code == 422 and "stream_modes" in r.json()["detail"]


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        (None, None),
        ("", None),
        ("-", (0, 0)),
        ("0", (0, 0)),
        ("-1", (0, 0)),
        ("12-3", (12, 3)),
        (" 1795237437546-0 ", (1795237437546, 0)),
        ("12", None),
        ("a-1", None),
        ("1-2-3", None),
        ("²-1", None),  # a digit to str.isdigit, not to int()
        ("1-²", None),
        ("1-99999999999999999999999", None),  # beyond a 64-bit seq
    ],
)
def test_parse_last_event_id(raw: str | None, parsed: tuple[int, int] | None) -> None:
    assert parse_last_event_id(raw) == parsed
