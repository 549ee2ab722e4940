"""Schemathesis over the OpenAPI document the server serves, against a real ``relaygraph dev``.

Every operation in ``/openapi.json`` gets schemathesis's examples, coverage and fuzzing
phases (``max_examples`` per operation, derandomized so a run is repeatable), and every
response must pass:

* ``not_a_server_error``: no 5xx, whatever the input;
* ``content_type_conformance`` and ``response_headers_conformance``: where the document
  says what comes back, it does;
* ``error_has_detail`` (below): a 4xx from our app is JSON ``{"detail": ...}``.

Random path ids would only ever reach the 404 branch, so path parameters and body
``assistant_id`` are sometimes swapped for ones that exist: a thread with a finished run
and checkpoints, one interrupted in ``hitl``, each graph's assistant, a versioned
assistant. ``DELETE`` operations draw from their own disposable ids so that the
operations after them still find the shared ones.

Excluded: only ``GET /threads/{thread_id}/stream`` (once the document lists it), which
follows a thread until the client leaves and so never answers in full. The other streaming
and waiting endpoints (``/runs/stream``, ``/runs/wait``, ``.../join``, ``.../stream``,
cancel with ``wait``) answer when their run ends, and the example graphs end in
milliseconds, so they only get a per-request timeout: a request that outlives it is a hang
and fails the test. The server's heartbeats are set far apart so that a hang cannot hide
behind keep-alive bytes. The one generated input reined in is ``after_seconds``: a run
scheduled years ahead would hold every later run on its thread, and their waits, that long,
so it is capped at a second (``_soon``).

``response_schema_conformance`` applies only to the operations in ``CONFORMING``; not
checked at all are ``status_code_conformance`` and ``negative_data_rejection``: the
document is the reference server's, and we answer as the reference does (204 for deletes,
lenient query booleans and extra fields) rather than as its document says.

The schema comes from ``load_openapi`` (the fixture checks that ``/openapi.json`` serves
exactly it) because ``schemathesis.pytest.from_fixture``, the way to load from a URL known
only once a fixture has run, does not work with the pytest 9 in use
(``'Function' object has no attribute '_nodeid'``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, CheckContext, HookContext, Response
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
)
from schemathesis.specs.openapi.checks import response_schema_conformance

from relaygraph.server._schema import load_openapi
from tests.server.conftest import start_server, stop_server

# Per operation; raise it (``RELAYGRAPH_SCHEMATHESIS_EXAMPLES=500``) to dig deeper locally.
MAX_EXAMPLES = int(os.environ.get("RELAYGRAPH_SCHEMATHESIS_EXAMPLES", "25"))
REQUEST_TIMEOUT_S = 15.0
GRAPHS = ["agent", "subgraph", "chat", "custom", "hitl", "boom"]


def _seed(url: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Resources for path ids: ``(shared, disposable)``, each ``{param: [ids]}``."""
    with httpx.Client(base_url=url, timeout=30) as c:

        def thread_with_run(graph: str, body: dict[str, Any]) -> tuple[str, str]:
            thread_id = c.post("/threads", json={}).json()["thread_id"]
            r = c.post(f"/threads/{thread_id}/runs", json={"assistant_id": graph, **body})
            run_id = r.json()["run_id"]
            c.get(f"/threads/{thread_id}/runs/{run_id}/join")
            return thread_id, run_id

        done, done_run = thread_with_run("agent", {"input": {"topic": "x"}})
        paused, paused_run = thread_with_run("hitl", {"input": {}})
        gone, gone_run = thread_with_run("agent", {"input": {"topic": "y"}})
        history = c.post(f"/threads/{done}/history", json={"limit": 10}).json()
        checkpoints = [s["checkpoint_id"] for s in history if s["checkpoint_id"]]
        assistants = c.post("/assistants/search", json={"limit": 100}).json()
        versioned = c.post("/assistants", json={"graph_id": "agent", "name": "v1"}).json()
        c.patch(f"/assistants/{versioned['assistant_id']}", json={"name": "v2"})
        disposable = c.post("/assistants", json={"graph_id": "boom"}).json()["assistant_id"]
    shared = {
        "thread_id": [done, paused],
        "run_id": [done_run, paused_run],
        "checkpoint_id": checkpoints[:2],
        "assistant_id": [a["assistant_id"] for a in assistants] + [versioned["assistant_id"]],
    }
    return shared, {"thread_id": [gone], "run_id": [gone_run], "assistant_id": [disposable]}


def _substitute(known: dict[str, list[str]], generated: Any) -> st.SearchStrategy[Any]:
    """``generated`` as is, or with each known parameter set to an existing id."""
    if not isinstance(generated, dict) or not known.keys() & generated.keys():
        return st.just(generated)
    swapped = {
        name: st.sampled_from(known[name]) if known.get(name) else st.just(value)
        for name, value in generated.items()
    }
    return st.one_of(st.just(generated), st.fixed_dictionaries(swapped))


# The ids the hooks below swap in; filled once the server is up (strategies draw lazily).
SHARED: dict[str, list[str]] = {}
DISPOSABLE: dict[str, list[str]] = {}

# What ``/openapi.json`` serves for the example project: ``server`` checks it is so.
DOCUMENT = load_openapi(GRAPHS).document
# A thread's stream follows the thread until the client leaves: it never ends by itself
# (tests/server/test_thread_stream.py covers it).
schema = schemathesis.openapi.from_dict(DOCUMENT).exclude(
    method="GET", path="/threads/{thread_id}/stream"
)
schema.config.generation.update(
    max_examples=MAX_EXAMPLES, deterministic=not os.environ.get("RELAYGRAPH_SCHEMATHESIS_RANDOM")
)


@schema.hook
def flatmap_path_parameters(context: HookContext, path_parameters: Any) -> Any:
    delete = context.operation is not None and context.operation.method.upper() == "DELETE"
    return _substitute(DISPOSABLE if delete else SHARED, path_parameters)


@schema.hook
def flatmap_body(context: HookContext, body: Any) -> Any:
    return _substitute({"assistant_id": GRAPHS}, body).map(_soon)


def _soon(body: Any) -> Any:
    """A run scheduled for later (``after_seconds``) comes due within a second: one due in
    ten years holds every run queued behind it on its thread, and their waits, as long."""
    delay = body.get("after_seconds") if isinstance(body, dict) else None
    if isinstance(delay, (int, float)) and not isinstance(delay, bool) and delay > 1:
        return {**body, "after_seconds": 1}
    return body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh ``relaygraph dev`` with a few resources; no unhandled error in its log after."""
    data = tmp_path_factory.mktemp("schemathesis")
    log = data / "server.log"
    # Heartbeats far apart: a wait or stream that hangs then trips the request timeout.
    proc, url = start_server(data / "data", log=log, env={"RELAYGRAPH_HEARTBEAT_S": "600"})
    try:
        assert httpx.get(f"{url}/openapi.json").json() == DOCUMENT
        shared, disposable = _seed(url)
        SHARED.update(shared)
        DISPOSABLE.update(disposable)
        yield url
    finally:
        SHARED.clear()
        DISPOSABLE.clear()
        stop_server(proc)
    unhandled = [line for line in log.read_text().splitlines() if "unhandled error" in line]
    assert not unhandled, "\n".join(unhandled)


def error_has_detail(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A 4xx from the app is JSON ``{"detail": ...}`` (uvicorn's own 400s for requests it
    cannot parse never reach the app, so they are let through)."""
    if not 400 <= response.status_code < 500:
        return None
    if not response.headers.get("content-type", [""])[0].startswith("application/json"):
        assert response.status_code == 400, f"{response.status_code} without a JSON body"
        return None
    body = response.json()
    assert isinstance(body, dict) and "detail" in body, f"no detail in {body!r}"
    return None


CHECKS = [
    not_a_server_error,
    content_type_conformance,
    response_headers_conformance,
    error_has_detail,
]
# Where our bodies match the document (the reference's) exactly, ``response_schema_conformance``
# holds us to it. Elsewhere we answer as the reference server does, not as its document says:
# ``null`` for a thread's ``values`` before any run and for a state's ``checkpoint`` /
# ``metadata`` / ``created_at`` before any checkpoint, ``null`` schemas a graph does not
# declare, ``select`` narrowing search results below the required fields, SSE ``data`` as
# JSON, ``/info`` without ``langgraph_py_version``.
CONFORMING = {
    "POST /assistants",
    "POST /assistants/count",
    "GET /assistants/{assistant_id}",
    "DELETE /assistants/{assistant_id}",
    "PATCH /assistants/{assistant_id}",
    "GET /assistants/{assistant_id}/graph",
    "POST /assistants/{assistant_id}/latest",
    "POST /threads/count",
    "POST /threads/{thread_id}/state",
    "DELETE /threads/{thread_id}",
    "POST /threads/{thread_id}/runs",
    "POST /threads/{thread_id}/runs/wait",
    "GET /threads/{thread_id}/runs/{run_id}",
    "DELETE /threads/{thread_id}/runs/{run_id}",
    "GET /threads/{thread_id}/runs/{run_id}/join",
    "POST /threads/{thread_id}/runs/{run_id}/cancel",
    "POST /runs",
    "POST /runs/wait",
    "POST /runs/batch",
    "POST /runs/cancel",
    "GET /ok",
    "GET /metrics",
    "GET /docs",
}


@schema.parametrize()
def test_api(case: Case, server: str) -> None:
    checks = CHECKS
    if case.operation.label in CONFORMING:
        checks = [*CHECKS, response_schema_conformance]
    case.call_and_validate(base_url=server, checks=checks, timeout=REQUEST_TIMEOUT_S)
