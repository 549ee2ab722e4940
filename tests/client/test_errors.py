"""Status codes and ``{"detail": ...}`` bodies become typed errors, the same in both faces."""

from __future__ import annotations

import httpx
import pytest

from relaygraph.client import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    LangGraphError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    RateLimitError,
    RunError,
    UnprocessableEntityError,
    ValidationError,
)
from relaygraph.client._errors import error_for_response
from tests.client.conftest import Mode


def response(status: int, content: bytes = b"", ctype: str = "application/json") -> httpx.Response:
    return httpx.Response(
        status,
        content=content,
        headers={"content-type": ctype},
        request=httpx.Request("POST", "http://h/threads/abc/runs/stream"),
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, InternalServerError),
        (503, InternalServerError),
        (418, APIStatusError),
    ],
)
def test_status_table(status: int, cls: type[APIStatusError]) -> None:
    error = error_for_response(response(status, b'{"detail":"nope"}'))
    assert type(error) is cls
    assert isinstance(error, LangGraphError)
    assert isinstance(error, httpx.HTTPStatusError)  # code written for bare httpx still works
    assert error.status_code == status
    assert error.detail == "nope"
    assert error.response.status_code == status
    assert str(error).startswith(f"{status} ")
    assert str(error).endswith("(POST /threads/abc/runs/stream): nope")


def test_detail_forms() -> None:
    e = error_for_response(response(422, b'{"detail":"bad","code":"E1"}'))
    assert (e.detail, e.code, e.body) == ("bad", "E1", {"detail": "bad", "code": "E1"})
    assert ValidationError is UnprocessableEntityError and isinstance(e, ValueError)
    e = error_for_response(response(404, b""))
    assert (e.detail, e.body) == (None, None)
    assert str(e) == "404 Not Found (POST /threads/abc/runs/stream)"
    assert isinstance(e, LookupError)
    e = error_for_response(response(502, b"<html>bad gateway</html>", "text/html"))
    assert e.detail == "<html>bad gateway</html>"
    e = error_for_response(response(422, b'{"detail":[{"loc":["body"],"msg":"x"}]}'))
    assert e.detail == [{"loc": ["body"], "msg": "x"}]
    assert "[{'loc'" in str(e)


def test_run_error() -> None:
    e = RunError.from_payload({"error": "ValueError", "message": "kaboom"})
    assert (str(e), e.error, e.message) == ("ValueError: kaboom", "ValueError", "kaboom")
    assert str(RunError.from_payload("weird")) == "Error: weird"


SERVER_SAID = {
    "/threads/missing": (404, {"detail": "Thread with ID missing not found"}),
    "/threads": (409, {"detail": "Thread with ID t already exists"}),
    "/threads/t/runs/stream": (422, {"detail": "Invalid assistant: 'nope'"}),
    "/runs/wait": (401, {"detail": "Invalid API key"}),
}


def handler(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/runs/stream":
        return httpx.Response(200, content=b"{}", headers={"content-type": "application/json"})
    status, payload = SERVER_SAID[request.url.path]
    return httpx.Response(status, json=payload)


async def test_each_method_kind_raises_the_typed_error(mode: Mode) -> None:
    client = mode.client("http://test", transport=httpx.MockTransport(handler))
    with pytest.raises(NotFoundError, match="Thread with ID missing not found"):
        await mode.call(client.threads.get("missing"))
    with pytest.raises(ConflictError) as conflict:
        await mode.call(client.threads.create(thread_id="t"))
    assert conflict.value.detail == "Thread with ID t already exists"
    with pytest.raises(UnprocessableEntityError, match="Invalid assistant"):
        await mode.collect(client.runs.stream("t", "nope"))
    with pytest.raises(AuthenticationError):
        await mode.call(client.runs.wait(None, "agent"))
    with pytest.raises(ProtocolError, match="expected a text/event-stream"):
        await mode.collect(client.runs.stream(None, "agent"))
    await mode.close(client)


async def test_connection_refused_is_an_api_connection_error(mode: Mode) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket closes
    client = mode.client(f"http://127.0.0.1:{port}")
    with pytest.raises(APIConnectionError) as info:
        await mode.call(client.threads.create())
    assert isinstance(info.value, httpx.TransportError)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert "POST" in str(info.value)
    await mode.close(client)
