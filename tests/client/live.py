"""Start ``relaygraph dev`` as a subprocess on a free port (the real CLI, the real server)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ROOT / "examples" / "agent_project"
CONFIG = PROJECT / "langgraph.json"


def server_missing() -> str | None:
    """Why the real server cannot run here, or ``None`` if it can."""
    if importlib.util.find_spec("relaygraph.server") is None:
        return "relaygraph.server is not there yet"
    if importlib.util.find_spec("relaygraph.cli") is None:
        return "relaygraph.cli is not there yet"
    if not CONFIG.is_file():
        return f"{CONFIG} is missing"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(directory: Path, graphs: Mapping[str, str]) -> Path:
    """A ``langgraph.json`` serving example graphs under other names
    (``{"agent": "subgraph"}`` serves the example ``subgraph`` graph as ``agent``)."""
    source = json.loads(CONFIG.read_text())
    specs = {
        name: str((PROJECT / source["graphs"][example].split(":")[0]).resolve())
        + ":"
        + source["graphs"][example].split(":")[1]
        for name, example in graphs.items()
    }
    path = directory / "langgraph.json"
    path.write_text(json.dumps({"graphs": specs, "env": source.get("env", {})}))
    return path


@contextlib.contextmanager
def running_server(data_dir: Path, config: Path = CONFIG, *extra: str) -> Iterator[str]:
    """``relaygraph dev`` until the block ends; yields its URL once ``/ok`` answers."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "relaygraph.cli",
        "dev",
        "--config",
        str(config),
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--no-access-log",
        *extra,
    ]
    log = data_dir.parent / f"server-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=config.parent, env={**os.environ}, stdout=out, stderr=subprocess.STDOUT
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"relaygraph dev exited:\n{log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(url + "/ok", timeout=1).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"relaygraph dev did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.05)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
