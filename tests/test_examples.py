"""The README's first command works: each example runs to completion in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name: str) -> str:
    out = subprocess.run(
        [sys.executable, str(EXAMPLES / name)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_streaming_example() -> None:
    stdout = run_example("streaming_example.py")
    assert "{'generate_joke': {'joke': 'This is a joke about ice cream and cats'}}" in stdout
    assert "custom   Fetched 100/100 records" in stdout
    assert "research   {'summarize'" in stdout  # a chunk from inside the subgraph
