"""The README's Python examples run as written (living documentation)."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert python_blocks(), "README lost its Python examples"


def test_streaming_guide_example_runs_and_streams_every_kind() -> None:
    block = next(b for b in python_blocks() if "stream_mode=" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    lines = out.getvalue().splitlines()
    assert lines[0] == "custom Fetched 10/100 records"
    tokens = [line for line in lines if line.startswith("token ")]
    assert tokens[0] == "token 'Hi,' agent"
    assert "".join(eval(t.split(" ", 1)[1].rsplit(" ", 1)[0]) for t in tokens) == (
        "Hi, how can I help you?"
    )
    assert lines[-1].startswith("updates {'agent': {'messages': [AIMessage(")
