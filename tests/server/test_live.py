"""Live streams against a real ``relaygraph dev`` process, driven by the official
``langgraph-sdk`` (and raw httpx where the wire itself is the point)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.errors import ConflictError, UnprocessableEntityError

from tests.server.conftest import start_server, stop_server


@pytest.fixture
async def sdk(live_url: str) -> AsyncIterator[Any]:
    client = get_client(url=live_url, api_key=None)
    yield client
    await client.aclose()


async def collect(stream: Any) -> list[Any]:
    return [part async for part in stream]


async def wait_status(sdk: Any, thread_id: str, run_id: str, *statuses: str) -> dict[str, Any]:
    for _ in range(200):
        run = await sdk.runs.get(thread_id, run_id)
        if run["status"] in statuses:
            return dict(run)
        await asyncio.sleep(0.02)
    raise AssertionError(f"run stayed {run['status']}")


async def test_seed_streaming_updates(sdk: Any) -> None:
    thread = await sdk.threads.create()
    parts = await collect(
        sdk.runs.stream(
            thread["thread_id"], "agent", input={"topic": "ice cream"}, stream_mode="updates"
        )
    )
    assert parts[0].event == "metadata" and set(parts[0].data) == {"run_id", "attempt"}
    assert [p.data for p in parts[1:]] == [
        {"refine_topic": {"topic": "ice cream and cats"}},
        {"generate_joke": {"joke": "This is a joke about ice cream and cats"}},
    ]
    run = await sdk.runs.get(thread["thread_id"], parts[0].data["run_id"])
    assert run["status"] == "success"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("values", ["values"] * 3),
        ("updates", ["updates"] * 2),
        ("debug", ["debug"] * 8),
        ("tasks", ["tasks"] * 4),
        ("checkpoints", ["checkpoints"] * 4),
        ("custom", []),
    ],
)
async def test_each_mode(sdk: Any, mode: str, expected: list[str]) -> None:
    thread = await sdk.threads.create()
    parts = await collect(
        sdk.runs.stream(thread["thread_id"], "agent", input={"topic": "x"}, stream_mode=mode)
    )
    assert [p.event for p in parts] == ["metadata", *expected]


async def test_multi_mode_custom_and_subgraphs(sdk: Any) -> None:
    thread = await sdk.threads.create()
    parts = await collect(
        sdk.runs.stream(
            thread["thread_id"],
            "custom",
            input={"n": 2, "sleep": 0},
            stream_mode=["updates", "custom"],
        )
    )
    assert [p.event for p in parts].count("custom") == 4
    parts = await collect(
        sdk.runs.stream(
            None, "subgraph", input={"foo": "foo"}, stream_mode="values", stream_subgraphs=True
        )
    )
    sub = [p for p in parts if p.event.startswith("values|node_2:")]
    assert sub and sub[-1].data == {"foo": "hi! foobar", "bar": "bar"}
    v2 = await collect(
        sdk.runs.stream(
            None,
            "subgraph",
            input={"foo": "foo"},
            stream_mode="updates",
            stream_subgraphs=True,
            version="v2",
        )
    )
    assert any(p["ns"] and p["ns"][0].startswith("node_2:") for p in v2 if isinstance(p, dict))


async def test_messages_tuple_seed_loop(sdk: Any) -> None:
    thread = await sdk.threads.create()
    text = ""
    async for chunk in sdk.runs.stream(
        thread["thread_id"],
        "chat",
        input={"messages": [{"role": "user", "content": "hi"}]},
        stream_mode="messages-tuple",
    ):
        if chunk.event != "messages":
            continue
        message_chunk, metadata = chunk.data
        text += message_chunk["content"]
        assert metadata["langgraph_node"] == "call_model"
    assert text == "Hello there from the fake model"


async def test_stateless_and_wait(sdk: Any) -> None:
    parts = await collect(
        sdk.runs.stream(None, "agent", input={"topic": "y"}, stream_mode="updates")
    )
    assert parts[-1].data == {"generate_joke": {"joke": "This is a joke about y and cats"}}
    thread = await sdk.threads.create()
    result = await sdk.runs.wait(thread["thread_id"], "agent", input={"topic": "z"})
    assert result["joke"] == "This is a joke about z and cats"
    with pytest.raises(Exception, match="ValueError: kaboom"):
        await sdk.runs.wait(None, "boom", input={"x": "1"})


async def test_join_stream_mid_run_and_after(sdk: Any) -> None:
    thread = await sdk.threads.create()
    tid = thread["thread_id"]
    run = await sdk.runs.create(
        tid, "custom", input={"n": 3, "sleep": 0.5}, stream_mode=["updates", "custom"]
    )
    await wait_status(sdk, tid, run["run_id"], "running")
    await asyncio.sleep(0.1)
    live = await collect(sdk.runs.join_stream(tid, run["run_id"]))
    # A join replays the log from the first event, then follows the run live.
    assert [p.event for p in live][:2] == ["metadata", "custom"]
    assert live[-1].data == {"slow": {"steps": ["slow"]}}
    assert (await sdk.runs.get(tid, run["run_id"]))["status"] == "success"
    again = await collect(sdk.runs.join_stream(tid, run["run_id"]))
    assert [p.data for p in again] == [p.data for p in live]
    custom = await collect(sdk.runs.join_stream(tid, run["run_id"], stream_mode="custom"))
    assert {p.event for p in custom} == {"metadata", "custom"}
    assert (await sdk.runs.join(tid, run["run_id"]))["steps"] == ["emit", "slow"]


async def test_last_event_id_reconnect(sdk: Any, live_url: str) -> None:
    thread = await sdk.threads.create()
    tid = thread["thread_id"]
    first: list[Any] = []
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=10) as http,
        http.stream(
            "POST",
            f"/threads/{tid}/runs/stream",
            json={
                "assistant_id": "custom",
                "input": {"n": 3, "sleep": 0.5},
                "stream_mode": ["custom", "updates"],
            },
        ) as response,
    ):
        run_id = response.headers["content-location"].rsplit("/", 1)[1]
        async for line in response.aiter_lines():
            if line.startswith("id: "):
                first.append(int(line[4:]))
                if len(first) == 3:
                    break  # the client drops the connection mid-run
    assert first == [1, 2, 3]
    resumed = await collect(sdk.runs.join_stream(tid, run_id, last_event_id="3"))
    ids = [int(p.id) for p in resumed]
    assert ids == list(range(4, 4 + len(ids))) and resumed[-1].event == "updates"
    assert (await sdk.runs.get(tid, run_id))["status"] == "success"


async def test_on_disconnect_cancel(sdk: Any, live_url: str) -> None:
    for policy, status in (("cancel", "interrupted"), ("continue", "success")):
        thread = await sdk.threads.create()
        tid = thread["thread_id"]
        async with (
            httpx.AsyncClient(base_url=live_url, timeout=10) as http,
            http.stream(
                "POST",
                f"/threads/{tid}/runs/stream",
                json={
                    "assistant_id": "custom",
                    "input": {"n": 1, "sleep": 0.6},
                    "stream_mode": "custom",
                    "on_disconnect": policy,
                },
            ) as response,
        ):
            run_id = response.headers["content-location"].rsplit("/", 1)[1]
            async for line in response.aiter_lines():
                if "slow-start" in line:
                    break
        run = await wait_status(sdk, tid, run_id, "interrupted", "success")
        assert run["status"] == status
        if policy == "cancel":
            thread = await sdk.threads.get(tid)
            assert (
                thread["error"]["message"]
                == "client disconnected from the run stream (on_disconnect=cancel)"
            )


async def test_cancel_running_run(sdk: Any) -> None:
    thread = await sdk.threads.create()
    tid = thread["thread_id"]
    run = await sdk.runs.create(tid, "custom", input={"n": 1, "sleep": 5}, stream_mode="custom")
    await wait_status(sdk, tid, run["run_id"], "running")

    async def cancel_soon() -> None:
        await asyncio.sleep(0.2)
        await sdk.runs.cancel(tid, run["run_id"])

    canceller = asyncio.ensure_future(cancel_soon())
    parts = await asyncio.wait_for(collect(sdk.runs.join_stream(tid, run["run_id"])), 5)
    await canceller
    assert parts[-1].event == "custom"  # the stream just closes
    assert (await sdk.runs.get(tid, run["run_id"]))["status"] == "interrupted"
    thread = await sdk.threads.get(tid)
    assert thread["status"] == "interrupted" and thread["error"]["error"] == "UserInterrupt"

    run = await sdk.runs.create(tid, "custom", input={"n": 1, "sleep": 5}, stream_mode="custom")
    await wait_status(sdk, tid, run["run_id"], "running")
    await sdk.runs.cancel(tid, run["run_id"], wait=True, action="rollback")
    assert (await sdk.runs.list(tid)) and all(
        r["run_id"] != run["run_id"] for r in await sdk.runs.list(tid)
    )
    thread = await sdk.threads.get(tid)
    assert thread["status"] == "idle" and thread["error"]["error"] == "UserRollback"


@pytest.mark.parametrize("strategy", ["reject", "interrupt", "rollback", "enqueue"])
async def test_multitask_strategies(sdk: Any, strategy: str) -> None:
    thread = await sdk.threads.create()
    tid = thread["thread_id"]
    first = await sdk.runs.create(tid, "custom", input={"n": 1, "sleep": 0.6}, stream_mode="custom")
    await wait_status(sdk, tid, first["run_id"], "running")
    if strategy == "reject":
        with pytest.raises(ConflictError):
            await sdk.runs.create(
                tid, "custom", input={"n": 1, "sleep": 0}, multitask_strategy="reject"
            )
        assert (await wait_status(sdk, tid, first["run_id"], "success"))["status"] == "success"
        return
    second = await sdk.runs.create(
        tid, "custom", input={"n": 2, "sleep": 0}, multitask_strategy=strategy
    )
    assert second["status"] == "pending"
    await sdk.runs.join(tid, second["run_id"])
    assert (await sdk.runs.get(tid, second["run_id"]))["status"] == "success"
    runs = {r["run_id"]: r["status"] for r in await sdk.runs.list(tid)}
    expected = {"interrupt": "interrupted", "rollback": None, "enqueue": "success"}[strategy]
    assert runs.get(first["run_id"]) == expected
    state = await sdk.threads.get_state(tid)
    assert state["values"]["n"] == 2
    assert (await sdk.threads.get(tid))["status"] == "idle"


async def test_interrupt_and_resume(sdk: Any) -> None:
    thread = await sdk.threads.create()
    tid = thread["thread_id"]
    parts = await collect(
        sdk.runs.stream(tid, "hitl", input={"question": "ship it?"}, stream_mode="values")
    )
    interrupt = parts[-1].data["__interrupt__"][0]
    assert interrupt["value"] == {"question": "ship it?"}
    parts = await collect(
        sdk.runs.stream(
            tid, "hitl", command={"resume": {interrupt["id"]: "ok"}}, stream_mode="values"
        )
    )
    assert parts[-1].data == {"question": "ship it?", "answer": "ok"}
    v2 = await collect(
        sdk.runs.stream(
            tid, "hitl", input={"question": "again?"}, stream_mode="values", version="v2"
        )
    )
    assert v2[-1]["interrupts"]


async def test_errors_surface_in_sdk(sdk: Any) -> None:
    thread = await sdk.threads.create()
    with pytest.raises(UnprocessableEntityError):
        await sdk.runs.create(thread["thread_id"], "nope")
    parts = await collect(sdk.runs.stream(thread["thread_id"], "boom", input={"x": "1"}))
    assert parts[-1].event == "error"
    assert parts[-1].data == {"error": "ValueError", "message": "kaboom: intentional failure"}


async def test_heartbeat_and_crlf_framing(live_url: str) -> None:
    async with (
        httpx.AsyncClient(base_url=live_url, timeout=10) as http,
        http.stream(
            "POST",
            "/runs/stream",
            json={
                "assistant_id": "custom",
                "input": {"n": 0, "sleep": 1.2},
                "stream_mode": "custom",
            },
        ) as response,
    ):
        assert response.headers["x-accel-buffering"] == "no"
        body = b"".join([chunk async for chunk in response.aiter_raw()])
    assert b": heartbeat\r\n\r\n" in body
    assert body.startswith(b"event: metadata\r\ndata: ")


async def test_api_key_and_restart_resume(tmp_path: Path) -> None:
    proc, url = start_server(tmp_path, "--api-key", "s3cret")
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/ok")).status_code == 200
            assert (await http.post("/threads", json={})).status_code == 401
            assert (
                await http.post("/threads", json={}, headers={"x-api-key": "nope"})
            ).status_code == 401
        async with get_client(url=url, api_key="s3cret") as sdk:
            thread = await sdk.threads.create()
            tid = thread["thread_id"]
            parts = await collect(
                sdk.runs.stream(
                    tid, "agent", input={"topic": "x"}, stream_mode=["values", "updates"]
                )
            )
        run_id = parts[0].data["run_id"]
    finally:
        stop_server(proc)
    proc, url = start_server(tmp_path, env={"RELAYGRAPH_API_KEY": "s3cret"})
    try:
        async with get_client(url=url, api_key="s3cret") as sdk:
            resumed = await collect(sdk.runs.join_stream(tid, run_id, last_event_id="3"))
        assert [p.id for p in resumed] == ["4", "5", "6"]
        assert [p.data for p in resumed] == [p.data for p in parts[3:]]
    finally:
        stop_server(proc)
