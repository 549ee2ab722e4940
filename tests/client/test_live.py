"""End to end against the real server: ``relaygraph dev`` as a subprocess, ``examples/agent_project``.

Every scenario runs four times: relaygraph's sync and async clients, then the official
``langgraph-sdk``'s sync and async clients. The same assertions hold for all four.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import uuid
from typing import Any

import httpx
import pytest

from tests.client.conftest import Mode

AGENT_ASSISTANT = "fe096781-5601-53d2-b2f6-0d3403f7e9ca"  # uuid5(namespace, "agent")
JOKE = {"topic": "ice cream and cats", "joke": "This is a joke about ice cream and cats"}
TASK_ID = re.compile(r":[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def events(parts: list[Any]) -> list[str]:
    """Event names with subgraph task ids masked."""
    return [TASK_ID.sub(":<task>", p.event) for p in parts]


async def status_of(sdk: Mode, call: Any) -> int:
    """The status of the error ``call()`` raises (both SDKs' are httpx.HTTPStatusError)."""
    with pytest.raises(httpx.HTTPStatusError) as info:
        await sdk.call(call())
    return int(info.value.response.status_code)


async def test_threads_crud(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    key = uuid.uuid4().hex
    thread = await sdk.call(c.threads.create(metadata={"suite": "live", "key": key}))
    tid = thread["thread_id"]
    assert thread["status"] == "idle"
    got = await sdk.call(c.threads.get(tid))
    assert got["metadata"] == {"suite": "live", "key": key}
    updated = await sdk.call(c.threads.update(tid, metadata={"extra": 1}))
    assert updated["metadata"] == {"suite": "live", "key": key, "extra": 1}
    found = await sdk.call(c.threads.search(metadata={"key": key}))
    assert [t["thread_id"] for t in found] == [tid]
    assert await sdk.call(c.threads.count(metadata={"key": key})) == 1
    copy = await sdk.call(c.threads.copy(tid))
    assert copy["thread_id"] != tid
    assert await sdk.call(c.threads.delete(tid)) is None
    assert await status_of(sdk, lambda: c.threads.get(tid)) == 404
    assert await status_of(sdk, lambda: c.threads.create(thread_id=copy["thread_id"])) == 409
    await sdk.close(c)


MODES: list[tuple[str, str, dict[str, Any], Any]] = [
    ("values", "agent", {"topic": "ice cream"}, ["metadata", "values", "values", "values"]),
    ("updates", "agent", {"topic": "ice cream"}, ["metadata", "updates", "updates"]),
    ("custom", "custom", {"n": 2, "sleep": 0}, ["metadata"] + ["custom"] * 4),
    ("debug", "agent", {"topic": "ice cream"}, None),
    ("tasks", "agent", {"topic": "ice cream"}, ["metadata"] + ["tasks"] * 4),
    ("checkpoints", "agent", {"topic": "ice cream"}, ["metadata"] + ["checkpoints"] * 4),
    ("events", "agent", {"topic": "ice cream"}, None),
    ("messages-tuple", "chat", {"messages": [{"role": "user", "content": "hi"}]}, None),
]


@pytest.mark.parametrize(
    ("stream_mode", "graph", "input", "expected"), MODES, ids=[m[0] for m in MODES]
)
async def test_stream_each_mode(
    sdk: Mode, live_url: str, stream_mode: str, graph: str, input: Any, expected: Any
) -> None:
    c = sdk.client(live_url)
    thread = await sdk.call(c.threads.create())
    parts = await sdk.collect(
        c.runs.stream(thread["thread_id"], graph, input=input, stream_mode=stream_mode)
    )
    await sdk.close(c)
    names = events(parts)
    assert names[0] == "metadata" and set(parts[0].data) >= {"run_id", "attempt"}
    if expected is not None:
        assert names == expected
    mode_name = "messages" if stream_mode == "messages-tuple" else stream_mode
    assert set(names[1:]) == {mode_name}
    data = [p.data for p in parts[1:]]
    if stream_mode == "values":
        assert data[-1] == JOKE
    elif stream_mode == "updates":
        assert data == [
            {"refine_topic": {"topic": JOKE["topic"]}},
            {"generate_joke": {"joke": JOKE["joke"]}},
        ]
    elif stream_mode == "custom":
        assert data == [
            {"progress": 0, "msg": "item 0"},
            {"progress": 1, "msg": "item 1"},
            "slow-start",
            "slow-end",
        ]
    elif stream_mode == "debug":
        assert {d["type"] for d in data} == {"checkpoint", "task", "task_result"}
    elif stream_mode == "events":
        assert data[0]["event"] == "on_chain_start" and data[-1]["event"] == "on_chain_end"
    elif stream_mode == "messages-tuple":
        text = "".join(
            chunk["content"] for chunk, _meta in data if chunk["type"] == "AIMessageChunk"
        )
        assert text == "Hello there from the fake model"
        assert all(meta["langgraph_node"] == "call_model" for _chunk, meta in data)


async def test_multiple_modes_interleave_in_order(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    thread = await sdk.call(c.threads.create())
    parts = await sdk.collect(
        c.runs.stream(
            thread["thread_id"],
            "custom",
            input={"n": 1, "sleep": 0},
            stream_mode=["updates", "custom", "values"],
        )
    )
    await sdk.close(c)
    assert events(parts) == [
        "metadata",
        "values",
        "custom",
        "updates",
        "values",
        "custom",
        "custom",
        "updates",
        "values",
    ]
    assert parts[-1].data == {"n": 1, "sleep": 0, "steps": ["emit", "slow"]}


async def test_subgraph_events_carry_their_namespace(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    thread = await sdk.call(c.threads.create())
    parts = await sdk.collect(
        c.runs.stream(
            thread["thread_id"],
            "subgraph",
            input={"foo": "foo"},
            stream_mode="updates",
            stream_subgraphs=True,
        )
    )
    await sdk.close(c)
    assert events(parts) == [
        "metadata",
        "updates",
        "updates|node_2:<task>",
        "updates|node_2:<task>",
        "updates",
    ]
    assert [p.data for p in parts[1:]] == [
        {"node_1": {"foo": "hi! foo"}},
        {"subgraph_node_1": {"bar": "bar"}},
        {"subgraph_node_2": {"foo": "hi! foobar"}},
        {"node_2": {"foo": "hi! foobar"}},
    ]


async def test_v2_parts(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    parts = await sdk.collect(
        c.runs.stream(
            None,
            "subgraph",
            input={"foo": "foo"},
            stream_mode="updates",
            stream_subgraphs=True,
            version="v2",
        )
    )
    await sdk.close(c)
    assert [(p["type"], len(p["ns"])) for p in parts] == [
        ("metadata", 0),
        ("updates", 0),
        ("updates", 1),
        ("updates", 1),
        ("updates", 0),
    ]
    assert parts[2]["ns"][0].startswith("node_2:")


async def test_stateless_stream_and_wait(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    parts = await sdk.collect(c.runs.stream(None, "agent", input={"topic": "ice cream"}))
    assert events(parts) == ["metadata", "values", "values", "values"]
    assert parts[-1].data == JOKE
    assert await sdk.call(c.runs.wait(None, "agent", input={"topic": "ice cream"})) == JOKE
    await sdk.close(c)


async def test_background_run_join_stream_and_join(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    thread = await sdk.call(c.threads.create())
    tid = thread["thread_id"]
    run = await sdk.call(
        c.runs.create(
            tid,
            "custom",
            input={"n": 2, "sleep": 0.3},
            stream_mode=["custom", "updates"],
            stream_resumable=True,
        )
    )
    assert run["status"] in ("pending", "running")
    parts = await sdk.collect(c.runs.join_stream(tid, run["run_id"], last_event_id="0"))
    assert events(parts) == [
        "metadata",
        "custom",
        "custom",
        "updates",
        "custom",
        "custom",
        "updates",
    ]
    ids = [p.id for p in parts]
    assert None not in ids and len(set(ids)) == len(ids)
    final = await sdk.call(c.runs.join(tid, run["run_id"]))
    assert final == {"n": 2, "sleep": 0.3, "steps": ["emit", "slow"]}
    done = await sdk.call(c.runs.get(tid, run["run_id"]))
    assert done["status"] == "success"
    listed = await sdk.call(c.runs.list(tid))
    assert [r["run_id"] for r in listed] == [run["run_id"]]
    # replay from an id in the middle: exactly the events after it
    tail = await sdk.collect(c.runs.join_stream(tid, run["run_id"], last_event_id=ids[2]))
    assert [p.id for p in tail] == ids[3:]
    await sdk.close(c)


async def test_interrupt_and_resume(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    thread = await sdk.call(c.threads.create())
    tid = thread["thread_id"]
    parts = await sdk.collect(
        c.runs.stream(
            tid, "hitl", input={"question": "ship it?"}, stream_mode=["values", "updates"]
        )
    )
    interrupt = parts[-1].data["__interrupt__"][0]
    assert interrupt["value"] == {"question": "ship it?"} and len(interrupt["id"]) == 32
    assert [p.event for p in parts][-2:] == ["updates", "values"]
    assert (await sdk.call(c.threads.get(tid)))["status"] == "interrupted"
    state = await sdk.call(c.threads.get_state(tid))
    assert state["next"] == ["ask"]
    assert state["tasks"][0]["interrupts"][0]["value"] == {"question": "ship it?"}
    resumed = await sdk.collect(
        c.runs.stream(tid, "hitl", command={"resume": "yes"}, stream_mode="values")
    )
    assert resumed[-1].data == {"question": "ship it?", "answer": "yes"}
    assert (await sdk.call(c.threads.get(tid)))["status"] == "idle"
    await sdk.close(c)


async def test_errors(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    parts = await sdk.collect(c.runs.stream(None, "boom", input={}))
    assert events(parts)[-1] == "error"
    assert parts[-1].data == {"error": "ValueError", "message": "kaboom: intentional failure"}
    with pytest.raises(Exception, match="ValueError: kaboom: intentional failure"):
        await sdk.call(c.runs.wait(None, "boom", input={}))
    assert await status_of(sdk, lambda: c.threads.get(str(uuid.uuid4()))) == 404
    assert await sdk.call(c.threads.count()) >= 0
    assert await status_of(sdk, lambda: c.runs.wait(None, "no-such-graph", input={})) == 422
    thread = await sdk.call(c.threads.create())
    assert (
        await status_of(sdk, lambda: c.threads.update_state(thread["thread_id"], {"x": 1})) == 400
    )
    await sdk.close(c)


async def test_state_and_history(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    thread = await sdk.call(c.threads.create())
    tid = thread["thread_id"]
    assert await sdk.call(c.runs.wait(tid, "agent", input={"topic": "ice cream"})) == JOKE
    state = await sdk.call(c.threads.get_state(tid))
    assert state["values"] == JOKE and state["next"] == []
    written = await sdk.call(c.threads.update_state(tid, {"topic": "dogs"}, as_node="refine_topic"))
    assert written["checkpoint"]["checkpoint_id"]
    after = await sdk.call(c.threads.get_state(tid))
    assert after["values"]["topic"] == "dogs" and after["next"] == ["generate_joke"]
    history = await sdk.call(c.threads.get_history(tid, limit=10))
    assert len(history) >= 4 and history[0]["checkpoint"] == after["checkpoint"]
    old = await sdk.call(
        c.threads.get_state(tid, checkpoint_id=state["checkpoint"]["checkpoint_id"])
    )
    assert old["values"] == JOKE
    await sdk.close(c)


async def test_assistants(sdk: Mode, live_url: str) -> None:
    c = sdk.client(live_url)
    found = await sdk.call(c.assistants.search(graph_id="agent"))
    assert AGENT_ASSISTANT in [a["assistant_id"] for a in found]
    got = await sdk.call(c.assistants.get(AGENT_ASSISTANT))
    assert got["graph_id"] == "agent"
    graph = await sdk.call(c.assistants.get_graph(AGENT_ASSISTANT))
    assert {n["id"] for n in graph["nodes"]} >= {"__start__", "refine_topic", "generate_joke"}
    schemas = await sdk.call(c.assistants.get_schemas(AGENT_ASSISTANT))
    assert schemas["graph_id"] == "agent"
    made = await sdk.call(c.assistants.create("agent", config={"configurable": {}}, name="mine"))
    changed = await sdk.call(c.assistants.update(made["assistant_id"], metadata={"v": 2}))
    assert changed["version"] == made["version"] + 1
    assert await sdk.call(c.assistants.delete(made["assistant_id"])) is None
    assert await status_of(sdk, lambda: c.assistants.get(made["assistant_id"])) == 404
    await sdk.close(c)


# -- reconnect through a proxy that cuts the first stream mid-body (relaygraph's clients) ----


class CuttingProxy:
    """Forwards TCP to ``upstream``; the connection carrying ``POST .../runs/stream`` is cut
    after ``cut_after`` response bytes (headers included)."""

    def __init__(self, upstream: str, cut_after: int) -> None:
        self.upstream = httpx.URL(upstream)
        self.cut_after = cut_after
        self.cuts = 0
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        up = socket.create_connection((self.upstream.host, self.upstream.port))
        first = conn.recv(65536)
        cut = first.startswith(b"POST") and b"/runs/stream" in first.split(b"\r\n", 1)[0]
        up.sendall(first)

        def upstream_to_client() -> None:
            sent = 0
            try:
                while data := up.recv(65536):
                    if cut and sent + len(data) >= self.cut_after:
                        conn.sendall(data[: max(0, self.cut_after - sent)])
                        self.cuts += 1
                        break
                    conn.sendall(data)
                    sent += len(data)
            except OSError:
                pass
            for s in (conn, up):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

        threading.Thread(target=upstream_to_client, daemon=True).start()
        try:
            while data := conn.recv(65536):
                up.sendall(data)
        except OSError:
            pass

    def close(self) -> None:
        self.sock.close()


async def test_real_server_stream_survives_a_dropped_connection(mode: Mode, live_url: str) -> None:
    direct = mode.client(live_url)
    thread = await mode.call(direct.threads.create())
    proxy = CuttingProxy(live_url, cut_after=900)  # the stream's is the proxy's first connection
    c = mode.client(proxy.url)
    parts = await mode.collect(
        c.runs.stream(
            thread["thread_id"],
            "custom",
            input={"n": 5, "sleep": 0.5},
            stream_mode=["custom", "updates"],
            stream_resumable=True,
        )
    )
    await mode.close(c)
    proxy.close()
    assert proxy.cuts == 1
    assert events(parts) == ["metadata"] + ["custom"] * 5 + [
        "updates",
        "custom",
        "custom",
        "updates",
    ]
    ids = [p.id for p in parts]
    assert len(set(ids)) == len(ids)  # nothing twice
    run_id = parts[0].data["run_id"]
    replay = await mode.collect(
        direct.runs.join_stream(thread["thread_id"], run_id, last_event_id="0")
    )
    await mode.close(direct)
    assert [(p.id, p.event, p.data) for p in replay] == [(p.id, p.event, p.data) for p in parts]
