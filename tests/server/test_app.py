"""Finite requests against the in-process app: resources, status codes and error bodies."""

from __future__ import annotations

import httpx
import orjson

AGENT_ID = "fe096781-5601-53d2-b2f6-0d3403f7e9ca"


async def new_thread(client: httpx.AsyncClient) -> str:
    r = await client.post("/threads", json={})
    assert r.status_code == 200
    return str(r.json()["thread_id"])


def sse(body: bytes) -> list[tuple[str, object, str | None]]:
    """``(event, data, id)`` for each frame of an SSE body (CRLF framing)."""
    out = []
    for block in body.split(b"\r\n\r\n"):
        if not block or block.startswith(b":"):
            continue
        fields = dict(line.split(b": ", 1) for line in block.split(b"\r\n"))
        seq = fields.get(b"id")
        out.append(
            (
                fields[b"event"].decode(),
                orjson.loads(fields[b"data"]),
                seq.decode() if seq else None,
            )
        )
    return out


async def test_health_info_docs_metrics(client: httpx.AsyncClient) -> None:
    assert (await client.get("/ok")).json() == {"ok": True, "services": {}}
    info = (await client.get("/info")).json()
    assert info["flags"]["assistants"] is True
    spec = (await client.get("/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    assert "/threads/{thread_id}/runs/stream" in spec["paths"]
    assert "text/html" in (await client.get("/docs")).headers["content-type"]
    metrics = (await client.get("/metrics")).text
    assert "relaygraph_runs_created_total" in metrics


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    r = await client.get("/nonexistent-path")
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    r = await client.put(f"/threads/{AGENT_ID}")
    assert (r.status_code, r.json()) == (405, {"detail": "Method Not Allowed"})
    assert "GET" in r.headers["allow"]


async def test_cors_preflight(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/threads",
        headers={
            "origin": "https://smith.langchain.com",
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type,x-api-key",
        },
    )
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == "*"


async def test_default_assistants(client: httpx.AsyncClient) -> None:
    r = await client.post("/assistants/search", json={"graph_id": "agent"})
    assert r.status_code == 200
    [agent] = r.json()
    assert agent["assistant_id"] == AGENT_ID
    assert agent["metadata"] == {"created_by": "system"}
    assert r.headers["x-pagination-total"] == "1"
    assert (await client.post("/assistants/count", json={})).json() == 6
    r = await client.get("/assistants/agent")
    assert (r.status_code, r.json()) == (422, {"detail": "Invalid assistant ID: must be a UUID"})


async def test_assistant_crud_and_versions(client: httpx.AsyncClient) -> None:
    body = {
        "graph_id": "agent",
        "name": "my-agent",
        "config": {"tags": ["t1"]},
        "metadata": {"team": "x"},
    }
    created = (await client.post("/assistants", json=body)).json()
    aid = created["assistant_id"]
    assert created["version"] == 1
    dup = await client.post("/assistants", json={"graph_id": "agent", "assistant_id": aid})
    assert (dup.status_code, dup.json()) == (409, {"detail": f"Assistant {aid} already exists"})
    same = await client.post(
        "/assistants", json={"graph_id": "agent", "assistant_id": aid, "if_exists": "do_nothing"}
    )
    assert same.json()["name"] == "my-agent"
    patched = (
        await client.patch(f"/assistants/{aid}", json={"metadata": {"team": "y"}, "name": "v2"})
    ).json()
    assert (patched["version"], patched["name"], patched["metadata"]) == (2, "v2", {"team": "y"})
    versions = (await client.post(f"/assistants/{aid}/versions", json={})).json()
    assert [v["version"] for v in versions] == [2, 1]
    assert "updated_at" not in versions[0]
    back = (await client.post(f"/assistants/{aid}/latest", json={"version": 1})).json()
    assert (back["version"], back["name"]) == (1, "my-agent")
    missing = await client.post("/assistants", json={"graph_id": "nope"})
    assert missing.status_code == 404
    assert (await client.delete(f"/assistants/{aid}")).status_code == 204
    assert (await client.get(f"/assistants/{aid}")).status_code == 404


async def test_assistant_graph_schemas_subgraphs(client: httpx.AsyncClient) -> None:
    graph = (await client.get(f"/assistants/{AGENT_ID}/graph")).json()
    assert [n["id"] for n in graph["nodes"]][:2] == ["__start__", "refine_topic"]
    schemas = (await client.get(f"/assistants/{AGENT_ID}/schemas")).json()
    assert schemas["graph_id"] == "agent"
    assert set(schemas["state_schema"]["properties"]) == {"topic", "joke"}
    sub = (await client.post("/assistants/search", json={"graph_id": "subgraph"})).json()[0]
    subgraphs = (await client.get(f"/assistants/{sub['assistant_id']}/subgraphs")).json()
    assert list(subgraphs) == ["node_2"]


async def test_thread_crud(client: httpx.AsyncClient) -> None:
    tid = "22222222-2222-4222-8222-222222222222"
    created = (
        await client.post("/threads", json={"thread_id": tid, "metadata": {"k": "v"}})
    ).json()
    assert (created["status"], created["values"], created["metadata"]) == ("idle", None, {"k": "v"})
    dup = await client.post("/threads", json={"thread_id": tid})
    assert (dup.status_code, dup.json()) == (
        409,
        {"detail": f"Thread with ID {tid} already exists"},
    )
    same = await client.post("/threads", json={"thread_id": tid, "if_exists": "do_nothing"})
    assert same.status_code == 200
    r = await client.patch(f"/threads/{tid}", json={"metadata": {"k2": 1}})
    assert r.json()["metadata"] == {"k": "v", "k2": 1}
    r = await client.patch(
        f"/threads/{tid}", json={"metadata": {}}, headers={"prefer": "return=minimal"}
    )
    assert r.status_code == 204
    await new_thread(client)
    r = await client.post("/threads/search", json={"metadata": {"k": "v"}})
    assert [t["thread_id"] for t in r.json()] == [tid]
    r = await client.post("/threads/search", json={"limit": 1})
    assert r.headers["x-pagination-total"] == "2" and r.headers["x-pagination-next"] == "1"
    r = await client.post("/threads/search", json={"select": ["thread_id", "status"], "limit": 1})
    assert set(r.json()[0]) == {"thread_id", "status"}
    assert (await client.post("/threads/count", json={"status": "idle"})).json() == 2
    state = (await client.get(f"/threads/{tid}/state")).json()
    assert state["values"] == {} and state["checkpoint"] is None
    assert (await client.get(f"/threads/{tid}/history")).json() == []
    bad = await client.post(f"/threads/{tid}/state", json={"values": {"topic": "x"}})
    assert bad.status_code == 400 and "has no assigned graph ID" in bad.json()["detail"]
    assert (await client.delete(f"/threads/{tid}")).status_code == 204
    gone = await client.get(f"/threads/{tid}")
    assert (gone.status_code, gone.json()) == (404, {"detail": f"Thread with ID {tid} not found"})
    assert (await client.delete(f"/threads/{tid}")).status_code == 404


async def test_bad_ids_and_bodies(client: httpx.AsyncClient) -> None:
    r = await client.get("/threads/not-a-uuid")
    assert (r.status_code, r.json()) == (422, {"detail": "Invalid thread ID: must be a UUID"})
    r = await client.post("/threads/not-a-uuid/runs/stream", json={"assistant_id": "agent"})
    assert (r.status_code, r.json()) == (400, {"detail": "badly formed hexadecimal UUID string"})
    tid = await new_thread(client)
    r = await client.post(
        f"/threads/{tid}/runs/stream", content=b'{"assistant_id": "agent", "input": {'
    )
    assert (r.status_code, r.json()) == (422, {"detail": "Invalid JSON in request body"})
    r = await client.post(f"/threads/{tid}/runs/stream", content=b"")
    assert (r.status_code, r.json()) == (422, {"detail": "Invalid JSON in request body"})
    r = await client.post(f"/threads/{tid}/runs/stream", json={"input": {"topic": "x"}})
    assert r.status_code == 422
    assert r.json()["detail"].startswith('"assistant_id" is a required property')
    r = await client.post(
        f"/threads/{tid}/runs/stream", json={"assistant_id": "agent", "stream_mode": "bogus"}
    )
    assert r.status_code == 422 and 'On instance["stream_mode"]' in r.json()["detail"]
    r = await client.post(
        f"/threads/{tid}/runs", json={"assistant_id": "agent", "multitask_strategy": "bogus"}
    )
    assert r.status_code == 422 and "multitask_strategy" in r.json()["detail"]
    r = await client.post("/threads/search", json={"limit": "ten"})
    assert r.status_code == 422 and r.json()["detail"].startswith('"ten" is not of type "integer"')
    r = await client.post("/threads", json=[])
    assert r.status_code == 422
    r = await client.post(f"/threads/{tid}/runs/stream", json={"assistant_id": "nope"})
    assert r.status_code == 422 and r.json()["detail"].startswith("Invalid assistant: 'nope'")
    r = await client.post(
        f"/threads/{tid}/runs/stream", json={"assistant_id": "33333333-3333-4333-8333-333333333333"}
    )
    assert (r.status_code, r.json()) == (404, {"detail": "Thread or assistant not found."})
    r = await client.post(
        "/threads/22222222-2222-4222-8222-222222222222/runs/stream", json={"assistant_id": "agent"}
    )
    assert (r.status_code, r.json()) == (404, {"detail": "Thread or assistant not found."})
    r = await client.post(
        f"/threads/{tid}/runs/wait",
        json={"assistant_id": "agent", "config": {"configurable": {"a": 1}}, "context": {"b": 2}},
    )
    assert r.status_code == 400 and r.json()["detail"].startswith(
        "Cannot specify both configurable and context"
    )
    r = await client.post(
        "/runs/wait", json={"assistant_id": "agent", "webhook": "http://127.0.0.1:1/hook"}
    )
    assert (r.status_code, r.json()) == (422, {"detail": "Webhook host blocked: loopback IP range"})
    r = await client.post("/threads", content=b"x" * (11 * 1024 * 1024))
    assert r.status_code == 413


async def test_stream_updates_framing(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    r = await client.post(
        f"/threads/{tid}/runs/stream",
        json={"assistant_id": "agent", "input": {"topic": "ice cream"}, "stream_mode": "updates"},
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/event-stream; charset=utf-8"
    run_id = r.headers["content-location"].rsplit("/", 1)[1]
    assert r.headers["location"] == f"/threads/{tid}/runs/{run_id}/stream"
    assert r.content.startswith(b"event: metadata\r\ndata: {")
    events = sse(r.content)
    assert events == [
        ("metadata", {"run_id": run_id, "attempt": 1}, "1"),
        ("updates", {"refine_topic": {"topic": "ice cream and cats"}}, "2"),
        ("updates", {"generate_joke": {"joke": "This is a joke about ice cream and cats"}}, "3"),
    ]
    run = (await client.get(f"/threads/{tid}/runs/{run_id}")).json()
    assert run["status"] == "success"
    assert run["kwargs"]["stream_mode"] == ["updates"]
    assert run["multitask_strategy"] == "enqueue"
    thread = (await client.get(f"/threads/{tid}")).json()
    assert thread["status"] == "idle"
    assert thread["values"]["joke"] == "This is a joke about ice cream and cats"
    assert thread["metadata"]["graph_id"] == "agent"


async def test_stream_default_and_multi_modes(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    r = await client.post(
        f"/threads/{tid}/runs/stream", json={"assistant_id": "agent", "input": {"topic": "x"}}
    )
    assert [e for e, _, _ in sse(r.content)] == ["metadata", "values", "values", "values"]
    r = await client.post(
        "/runs/stream",
        json={
            "assistant_id": "custom",
            "input": {"n": 2, "sleep": 0},
            "stream_mode": ["updates", "custom", "updates"],
        },
    )
    names = [e for e, _, _ in sse(r.content)]
    assert names == ["metadata", "custom", "custom", "updates", "custom", "custom", "updates"]


async def test_stream_subgraphs_names(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/runs/stream",
        json={
            "assistant_id": "subgraph",
            "input": {"foo": "foo"},
            "stream_mode": "updates",
            "stream_subgraphs": True,
        },
    )
    names = [e.split(":")[0] for e, _, _ in sse(r.content)]
    assert names == ["metadata", "updates", "updates|node_2", "updates|node_2", "updates"]
    assert r.headers["location"].startswith("/runs/")


async def test_messages_modes(client: httpx.AsyncClient) -> None:
    body = {"assistant_id": "chat", "input": {"messages": [{"role": "user", "content": "hi"}]}}
    r = await client.post("/runs/stream", json={**body, "stream_mode": "messages-tuple"})
    events = sse(r.content)
    chunks = [d for e, d, _ in events if e == "messages"]
    assert "".join(c[0]["content"] for c in chunks) == "Hello there from the fake model"  # type: ignore[index]
    assert chunks[0][1]["langgraph_node"] == "call_model"  # type: ignore[index]
    r = await client.post("/runs/stream", json={**body, "stream_mode": "messages"})
    events = sse(r.content)
    assert events[1][0] == "messages/metadata"
    partials = [d[0]["content"] for e, d, _ in events if e == "messages/partial"]  # type: ignore[index]
    assert partials[0] == "Hello" and partials[-1] == "Hello there from the fake model"
    assert all(d[0]["type"] == "ai" for e, d, _ in events if e == "messages/partial")  # type: ignore[index]


async def test_events_mode(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/runs/stream",
        json={
            "assistant_id": "agent",
            "input": {"topic": "x"},
            "stream_mode": ["events", "updates"],
        },
    )
    events = sse(r.content)
    kinds = [d["event"] for e, d, _ in events if e == "events"]  # type: ignore[index]
    assert kinds[0] == "on_chain_start" and kinds[-1] == "on_chain_end"
    assert [e for e, _, _ in events].count("updates") == 2


async def test_error_run(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    r = await client.post(
        f"/threads/{tid}/runs/stream", json={"assistant_id": "boom", "input": {"x": "1"}}
    )
    events = sse(r.content)
    assert events[-1][:2] == (
        "error",
        {"error": "ValueError", "message": "kaboom: intentional failure"},
    )
    thread = (await client.get(f"/threads/{tid}")).json()
    assert thread["status"] == "error"
    assert thread["error"] == {"error": "ValueError", "message": "kaboom: intentional failure"}
    runs = (await client.get(f"/threads/{tid}/runs")).json()
    assert runs[0]["status"] == "error"
    r = await client.post(
        f"/threads/{tid}/runs/wait", json={"assistant_id": "boom", "input": {"x": "1"}}
    )
    assert r.json() == {
        "__error__": {"error": "ValueError", "message": "kaboom: intentional failure"}
    }
    r = await client.post(
        f"/threads/{tid}/runs/stream", json={"assistant_id": "agent", "input": "notadict"}
    )
    assert sse(r.content)[-1][0] == "error"


async def test_wait_and_stateless(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    r = await client.post(
        f"/threads/{tid}/runs/wait", json={"assistant_id": "agent", "input": {"topic": "x"}}
    )
    assert r.json() == {"topic": "x and cats", "joke": "This is a joke about x and cats"}
    run_id = r.headers["content-location"].rsplit("/", 1)[1]
    assert r.headers["location"] == f"/threads/{tid}/runs/{run_id}/join"
    r = await client.post("/runs/wait", json={"assistant_id": "agent", "input": {"topic": "y"}})
    assert r.json()["joke"] == "This is a joke about y and cats"
    temp = r.headers["content-location"]
    assert temp.startswith("/runs/")
    assert (await client.post("/threads/count", json={})).json() == 1
    r = await client.post(
        "/runs/wait",
        json={"assistant_id": "agent", "input": {"topic": "z"}, "on_completion": "keep"},
    )
    assert (await client.post("/threads/count", json={})).json() == 2
    r = await client.post("/runs", json={"assistant_id": "agent", "input": {"topic": "z"}})
    assert r.json()["kwargs"]["temporary"] is True and r.json()["status"] == "pending"
    r = await client.post(
        "/runs/batch",
        json=[
            {"assistant_id": "agent", "input": {"topic": "a"}},
            {"assistant_id": "agent", "input": {"topic": "b"}},
        ],
    )
    assert len(r.json()) == 2


async def test_join_and_replay_after_run(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    run = (
        await client.post(
            f"/threads/{tid}/runs",
            json={
                "assistant_id": "agent",
                "input": {"topic": "x"},
                "stream_mode": ["updates", "values"],
            },
        )
    ).json()
    assert run["status"] == "pending"
    rid = run["run_id"]
    joined = await client.get(f"/threads/{tid}/runs/{rid}/join")
    assert joined.json()["joke"] == "This is a joke about x and cats"
    full = sse((await client.get(f"/threads/{tid}/runs/{rid}/stream")).content)
    assert [s for _, _, s in full] == [str(i) for i in range(1, 7)]
    after = sse(
        (
            await client.get(f"/threads/{tid}/runs/{rid}/stream", headers={"last-event-id": "4"})
        ).content
    )
    assert [s for _, _, s in after] == ["5", "6"]
    only = sse((await client.get(f"/threads/{tid}/runs/{rid}/stream?stream_mode=updates")).content)
    assert [e for e, _, _ in only] == ["metadata", "updates", "updates"]
    missing = await client.get(f"/threads/{tid}/runs/33333333-3333-4333-8333-333333333333/stream")
    assert sse(missing.content) == [
        ("error", {"error": "HTTPException", "message": "404: Run not found"}, None)
    ]
    r = await client.get(f"/threads/{tid}/runs/33333333-3333-4333-8333-333333333333/join")
    assert r.json() == {"__error__": {"error": "HTTPException", "message": "404: Run not found"}}
    r = await client.get(f"/threads/{tid}/runs/33333333-3333-4333-8333-333333333333")
    assert (r.status_code, r.json()) == (404, {"detail": "Not Found"})
    r = await client.post(f"/threads/{tid}/runs/33333333-3333-4333-8333-333333333333/cancel")
    assert (r.status_code, r.json()) == (404, {"detail": "No runs found to cancel."})
    assert (await client.delete(f"/threads/{tid}/runs/{rid}")).status_code == 204
    assert (await client.get(f"/threads/{tid}/runs/{rid}")).status_code == 404


async def test_interrupt_resume_state_history(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    r = await client.post(
        f"/threads/{tid}/runs/stream",
        json={
            "assistant_id": "hitl",
            "input": {"question": "ship it?"},
            "stream_mode": ["values", "updates"],
        },
    )
    events = sse(r.content)
    assert events[-2][0] == "updates" and "__interrupt__" in events[-2][1]  # type: ignore[operator]
    interrupt = events[-1][1]["__interrupt__"][0]  # type: ignore[index]
    assert interrupt["value"] == {"question": "ship it?"} and len(interrupt["id"]) == 32
    thread = (await client.get(f"/threads/{tid}")).json()
    assert thread["status"] == "interrupted" and len(thread["interrupts"]) == 1
    state = (await client.get(f"/threads/{tid}/state")).json()
    assert state["next"] == ["ask"] and state["interrupts"][0]["id"] == interrupt["id"]
    runs = (await client.get(f"/threads/{tid}/runs")).json()
    assert runs[0]["status"] == "success"
    r = await client.post(
        f"/threads/{tid}/runs/wait", json={"assistant_id": "hitl", "command": {"resume": "yes"}}
    )
    assert r.json() == {"question": "ship it?", "answer": "yes"}
    assert (await client.get(f"/threads/{tid}")).json()["status"] == "idle"
    history = (await client.post(f"/threads/{tid}/history", json={"limit": 10})).json()
    assert len(history) >= 3
    assert len((await client.get(f"/threads/{tid}/history")).json()) == 1
    first = history[-1]["checkpoint_id"]
    at = (await client.get(f"/threads/{tid}/state/{first}")).json()
    assert at["checkpoint_id"] == first
    at = (
        await client.post(
            f"/threads/{tid}/state/checkpoint", json={"checkpoint": {"checkpoint_id": first}}
        )
    ).json()
    assert at["checkpoint_id"] == first
    upd = (
        await client.post(
            f"/threads/{tid}/state", json={"values": {"answer": "no"}, "as_node": "ask"}
        )
    ).json()
    assert upd["checkpoint"]["thread_id"] == tid and upd["checkpoint_id"]
    assert (await client.get(f"/threads/{tid}/state")).json()["values"]["answer"] == "no"
    copied = (await client.post(f"/threads/{tid}/copy")).json()
    assert copied["thread_id"] != tid
    assert (await client.get(f"/threads/{copied['thread_id']}/state")).json()["values"][
        "answer"
    ] == "no"


async def test_interrupt_before_and_continue(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    r = await client.post(
        f"/threads/{tid}/runs/stream",
        json={
            "assistant_id": "agent",
            "input": {"topic": "x"},
            "stream_mode": "updates",
            "interrupt_before": ["generate_joke"],
        },
    )
    assert sse(r.content)[-1][1] == {"__interrupt__": []}
    r = await client.post(
        f"/threads/{tid}/runs/wait", json={"assistant_id": "agent", "input": None}
    )
    assert r.json()["joke"] == "This is a joke about x and cats"


async def test_fork_from_checkpoint(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    await client.post(
        f"/threads/{tid}/runs/wait", json={"assistant_id": "agent", "input": {"topic": "x"}}
    )
    history = (await client.post(f"/threads/{tid}/history", json={"limit": 10})).json()
    after_refine = next(h for h in history if h["next"] == ["generate_joke"])
    r = await client.post(
        f"/threads/{tid}/runs/wait",
        json={
            "assistant_id": "agent",
            "input": None,
            "checkpoint_id": after_refine["checkpoint_id"],
        },
    )
    assert r.json()["joke"] == "This is a joke about x and cats"


async def test_rollback_cancel_of_pending_run(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    run = (
        await client.post(
            f"/threads/{tid}/runs",
            json={"assistant_id": "agent", "input": {"topic": "x"}, "after_seconds": 30},
        )
    ).json()
    r = await client.post(f"/threads/{tid}/runs/{run['run_id']}/cancel?action=rollback")
    assert r.status_code == 202
    assert (await client.get(f"/threads/{tid}/runs/{run['run_id']}")).status_code == 404
    assert (await client.get(f"/threads/{tid}")).json()["status"] == "idle"


async def test_cancel_many_and_api_surface(client: httpx.AsyncClient) -> None:
    tid = await new_thread(client)
    run = (
        await client.post(
            f"/threads/{tid}/runs",
            json={"assistant_id": "agent", "input": {"topic": "x"}, "after_seconds": 30},
        )
    ).json()
    r = await client.post("/runs/cancel", json={"thread_id": tid, "run_ids": [run["run_id"]]})
    assert r.status_code == 204
    assert (await client.get(f"/threads/{tid}/runs/{run['run_id']}")).json()[
        "status"
    ] == "interrupted"
    r = await client.post(
        "/runs/cancel", json={"thread_id": tid, "run_ids": ["33333333-3333-4333-8333-333333333333"]}
    )
    assert (r.status_code, r.json()) == (404, {"detail": "No runs found to cancel."})
    import relaygraph.server as server

    assert all(hasattr(server, name) for name in server.__all__)


async def test_batch_is_all_or_nothing(client: httpx.AsyncClient) -> None:
    before = (await client.post("/threads/count", json={})).json()
    r = await client.post(
        "/runs/batch",
        json=[
            {"assistant_id": "agent", "input": {"topic": "a"}, "on_completion": "keep"},
            {"assistant_id": "nope", "input": {}},
        ],
    )
    assert r.status_code == 422 and "nope" in r.json()["detail"]
    assert (await client.post("/threads/count", json={})).json() == before


async def test_cancel_by_status_reaches_pending_runs(client: httpx.AsyncClient) -> None:
    thread = (await client.post("/threads", json={})).json()["thread_id"]
    run = (
        await client.post(
            f"/threads/{thread}/runs",
            json={"assistant_id": "agent", "input": {"topic": "a"}, "after_seconds": 60},
        )
    ).json()
    r = await client.post("/runs/cancel", json={"status": "pending", "thread_id": thread})
    assert r.status_code == 204
    status = (await client.get(f"/threads/{thread}/runs/{run['run_id']}")).json()["status"]
    assert status == "interrupted"
