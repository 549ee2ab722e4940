"""Nothing a client sends yields a 500: random bodies against every body-taking endpoint."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import httpx

from relaygraph.server import ServerSettings, create_app
from tests.server.conftest import CONFIG

AGENT_ID = "fe096781-5601-53d2-b2f6-0d3403f7e9ca"
VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    1.5,
    "",
    "x",
    "agent",
    "*",
    [],
    [1],
    ["x"],
    {},
    {"a": 1},
    {"configurable": {"thread_id": 1}},
    "33333333-3333-4333-8333-333333333333",
    {"checkpoint_id": "zz"},
    {"resume": 1},
    {"goto": {"node": "x"}},
    [None],
]
KEYS = [
    "assistant_id",
    "input",
    "command",
    "config",
    "context",
    "metadata",
    "stream_mode",
    "stream_subgraphs",
    "interrupt_before",
    "interrupt_after",
    "checkpoint",
    "checkpoint_id",
    "multitask_strategy",
    "if_not_exists",
    "durability",
    "values",
    "as_node",
    "limit",
    "offset",
    "before",
    "ids",
    "status",
    "select",
    "sort_by",
    "graph_id",
    "name",
    "thread_id",
    "if_exists",
    "version",
    "run_ids",
    "on_completion",
    "checkpoint_during",
]


async def test_random_bodies_never_500(tmp_path: Path) -> None:
    app = create_app(ServerSettings(config=CONFIG, data_dir=tmp_path))
    rnd = random.Random(7)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
            tid = (await c.post("/threads", json={})).json()["thread_id"]
            await c.post(
                f"/threads/{tid}/runs/wait", json={"assistant_id": "agent", "input": {"topic": "x"}}
            )
            posts = [
                "/threads",
                "/threads/search",
                "/threads/count",
                f"/threads/{tid}/state",
                f"/threads/{tid}/state/checkpoint",
                f"/threads/{tid}/history",
                f"/threads/{tid}/runs",
                f"/threads/{tid}/runs/wait",
                "/runs",
                "/runs/wait",
                "/runs/stream",
                "/runs/batch",
                "/runs/cancel",
                "/assistants",
                "/assistants/search",
                "/assistants/count",
                f"/assistants/{AGENT_ID}/versions",
                f"/assistants/{AGENT_ID}/latest",
            ]
            failures = []
            for _ in range(300):
                path = rnd.choice(posts)
                body: Any = {k: rnd.choice(VALUES) for k in rnd.sample(KEYS, rnd.randint(0, 5))}
                if rnd.random() < 0.5:
                    body["assistant_id"] = rnd.choice(["agent", "hitl", "boom", AGENT_ID])
                if path == "/runs/batch":
                    body = [body]
                r = await c.post(path, json=body)
                if r.status_code >= 500:
                    failures.append((path, body, r.status_code))
    assert failures == []


async def test_out_of_range_numbers_are_422(client: httpx.AsyncClient) -> None:
    """Integers past what the databases store (found by ``test_schemathesis``) are refused,
    and number-ish query parameters and headers never crash a handler."""
    tid = (await client.post("/threads", json={})).json()["thread_id"]
    big = 2**63
    for path, body in [
        ("/threads/search", {"offset": big}),
        ("/assistants/search", {"offset": big}),
        (f"/assistants/{AGENT_ID}/versions", {"offset": big}),
        (f"/assistants/{AGENT_ID}/latest", {"version": big}),
    ]:
        r = await client.post(path, json=body)
        assert r.status_code == 422, (path, r.text)
        assert r.json()["detail"].startswith(f"{big} is greater than the maximum of {big - 1}")
    assert (await client.post("/threads/search", json={"offset": big - 1})).json() == []
    r = await client.get(f"/threads/{tid}/runs", params={"offset": str(big * 10**6)})
    assert (r.status_code, r.json()) == (422, {"detail": f"Invalid offset: must be <= {big - 1}"})
    for xray in ["²", "9" * 5000, "null"]:
        r = await client.get(f"/assistants/{AGENT_ID}/graph", params={"xray": xray})
        assert r.status_code == 200, xray
    r = await client.post(
        f"/threads/{tid}/runs", json={"assistant_id": "agent", "input": {"topic": "x"}}
    )
    rid = r.json()["run_id"]
    await client.get(f"/threads/{tid}/runs/{rid}/join")
    for last in [str(big * 10**6), "-1", "x"]:  # out of range: replay from the start
        r = await client.get(f"/threads/{tid}/runs/{rid}/stream", headers={"last-event-id": last})
        assert r.status_code == 200 and r.text.startswith("event: metadata"), last
