"""What the server benches share: a free port, a process's CPU time, waiting for ``/ok``, and
a throwaway PostgreSQL schema. (The tests have their own schema helper, which skips where
PostgreSQL is absent; bench scripts do not import tests.)"""

from __future__ import annotations

import math
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int | None) -> float:
    """CPU seconds (user + system) of ``pid`` and its live descendants; NaN without a pid."""
    if pid is None:
        return math.nan
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except OSError:  # it exited meanwhile
            continue
    return total / os.sysconf("SC_CLK_TCK")


def wait_ok(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 60.0) -> None:
    """Return once ``url/ok`` answers 200; exit if ``proc`` dies or ``timeout`` passes."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"the server at {url} exited with status {proc.returncode}")
        try:
            if httpx.get(url + "/ok", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"no server answered at {url}/ok within {timeout:.0f} s")


@contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A conninfo whose ``search_path`` is a new empty schema, dropped on exit."""
    import psycopg
    from psycopg.conninfo import make_conninfo

    schema = f"rg_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield make_conninfo(url, options=f"-c search_path={schema}")
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
