"""Run-completion webhooks: delivered with the run, its final values and its error."""

from __future__ import annotations

import asyncio
import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest


def outbound_ip() -> str:
    """This machine's non-loopback address (webhooks to loopback are refused, as in the
    reference)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            ip = str(s.getsockname()[0])
        except OSError:
            ip = "127.0.0.1"
    if ip.startswith("127."):
        pytest.skip("no non-loopback address to receive webhooks on")
    return ip


class Receiver:
    """A tiny HTTP server recording POST bodies; answers ``statuses`` in turn, then 200."""

    def __init__(self, statuses: list[int]) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.statuses = statuses
        received = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                received.bodies.append(json.loads(self.rfile.read(length)))
                status = received.statuses.pop(0) if received.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), Handler)
        self.url = f"http://{outbound_ip()}:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    async def wait(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the in-process server delivers on this loop
        return self.bodies

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver([])
    yield r
    r.close()


async def test_webhook_gets_run_values_after_success(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    thread = (await client.post("/threads", json={})).json()
    body = {"assistant_id": "agent", "input": {"topic": "ice cream"}, "webhook": receiver.url}
    response = await client.post(f"/threads/{thread['thread_id']}/runs/wait", json=body)
    assert response.status_code == 200
    (hook,) = await receiver.wait(1)
    assert hook["thread_id"] == thread["thread_id"]
    assert hook["status"] == "success"
    assert hook["kwargs"]["webhook"] == receiver.url
    assert hook["values"] == response.json()
    assert hook["error"] is None
    assert hook["webhook_sent_at"]


async def test_webhook_of_failed_stateless_run_is_retried_and_carries_the_error(
    client: httpx.AsyncClient,
) -> None:
    receiver = Receiver([503])  # first delivery fails; the retry succeeds
    try:
        body = {"assistant_id": "boom", "input": {}, "webhook": receiver.url}
        response = await client.post("/runs/wait", json=body)
        assert "__error__" in response.json()
        first, second = await receiver.wait(2)
        assert first == second
        assert second["status"] == "error"
        assert second["error"]["error"]  # the error's type, as recorded on the thread
    finally:
        receiver.close()
