"""Server fixtures: an in-process app for finite requests, a real ``relaygraph dev`` for streams.

In-process requests go through httpx's ASGI transport (which buffers whole bodies, so it is
used only for responses that end). Live streams, disconnects and heartbeats need a real
server: ``live_url`` starts the CLI as a subprocess on a free port, once per session.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from relaygraph.server import ServerSettings, create_app

PROJECT = Path(__file__).resolve().parents[2] / "examples" / "agent_project"
CONFIG = PROJECT / "langgraph.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on an in-process app with a fresh data directory."""
    settings = ServerSettings(config=CONFIG, data_dir=tmp_path / "data", heartbeat_s=0.5)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            yield c


def start_server(
    data_dir: Path, *extra: str, env: dict[str, str] | None = None, log: Path | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``relaygraph dev`` on a free port, once ``/ok`` answers; its stderr goes to ``log``
    when given (a server that logs a lot must not fill an unread pipe)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "relaygraph.cli",
        "dev",
        "--config",
        str(CONFIG),
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--no-access-log",
        *extra,
    ]
    with contextlib.ExitStack() as stack:
        stderr = stack.enter_context(log.open("wb")) if log is not None else subprocess.PIPE
        proc = subprocess.Popen(
            cmd,
            env={**os.environ, "RELAYGRAPH_HEARTBEAT_S": "0.5", **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            if log is not None:
                raise RuntimeError(log.read_text())
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "server exited")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/ok", timeout=1).status_code == 200:
                return proc, url
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("server did not start")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        proc.kill()
        proc.wait()
    if proc.stderr:
        proc.stderr.close()


@pytest.fixture(scope="session")
def live_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a ``relaygraph dev`` subprocess shared by the session's live tests."""
    proc, url = start_server(tmp_path_factory.mktemp("live"))
    yield url
    stop_server(proc)
