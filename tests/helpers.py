"""Shared test helpers: run a stream sync or async, and normalise run-to-run ids."""

from __future__ import annotations

import asyncio
import pprint
import re
from collections.abc import Callable
from typing import Any

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_HEX32 = re.compile(r"\b[0-9a-f]{32}\b")
_TS = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+00:00")


def normalize(text: str) -> str:
    """Replace uuids, 32-hex interrupt ids and ISO timestamps by numbered placeholders."""
    seen: dict[str, str] = {}

    def sub(kind: str) -> Callable[[re.Match[str]], str]:
        def repl(m: re.Match[str]) -> str:
            key = m.group(0)
            if key not in seen:
                seen[key] = f"<{kind}-{sum(v.startswith('<' + kind) for v in seen.values()) + 1}>"
            return seen[key]

        return repl

    text = _UUID.sub(sub("uuid"), text)
    text = _HEX32.sub(sub("hex32"), text)
    return _TS.sub("<ts>", text)


def fmt(x: Any) -> str:
    return pprint.pformat(x, width=120, sort_dicts=False)


def norm_chunks(chunks: list[Any]) -> list[str]:
    """Each chunk's pretty repr, normalised together so equal ids stay equal."""
    joined = normalize("\n\x00\n".join(fmt(c) for c in chunks))
    return joined.split("\n\x00\n") if chunks else []


class Runner:
    """Runs a graph's stream sync (``stream``) or async (``astream``) and returns a list.

    Tests take the ``runner`` fixture, which is parametrised over both, so one test
    checks both faces.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return self.kind

    def stream(self, graph: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if self.kind == "sync":
            return list(graph.stream(*args, **kwargs))

        async def collect() -> list[Any]:
            return [c async for c in graph.astream(*args, **kwargs)]

        return asyncio.run(collect())

    def stream_until_error(
        self, graph: Any, *args: Any, **kwargs: Any
    ) -> tuple[list[Any], BaseException | None]:
        """Like ``stream`` but returns ``(chunks so far, exception or None)``."""
        out: list[Any] = []
        if self.kind == "sync":
            try:
                for c in graph.stream(*args, **kwargs):
                    out.append(c)
            except Exception as e:
                return out, e
            return out, None

        async def collect() -> BaseException | None:
            try:
                async for c in graph.astream(*args, **kwargs):
                    out.append(c)
            except Exception as e:
                return e
            return None

        return out, asyncio.run(collect())

    def invoke(self, graph: Any, *args: Any, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return graph.invoke(*args, **kwargs)
        return asyncio.run(graph.ainvoke(*args, **kwargs))

    def get_state(self, graph: Any, config: Any, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return graph.get_state(config, **kwargs)
        return asyncio.run(graph.aget_state(config, **kwargs))

    def get_state_history(self, graph: Any, config: Any, **kwargs: Any) -> list[Any]:
        if self.kind == "sync":
            return list(graph.get_state_history(config, **kwargs))

        async def collect() -> list[Any]:
            return [s async for s in graph.aget_state_history(config, **kwargs)]

        return asyncio.run(collect())

    def update_state(self, graph: Any, config: Any, values: Any, **kwargs: Any) -> Any:
        if self.kind == "sync":
            return graph.update_state(config, values, **kwargs)
        return asyncio.run(graph.aupdate_state(config, values, **kwargs))


def canon(chunks: list[Any]) -> list[str]:
    """Each chunk's one-line ``repr``, normalised together so equal ids stay equal.

    Unlike ``norm_chunks`` there is no line wrapping, so the result does not depend on
    the length of the ids it replaced. Write the expected chunks as Python objects that
    use the placeholders (``'<uuid-1>'``, ``'<hex32-1>'``, ``'<ts>'``) numbered by first
    appearance, and compare ``canon(actual) == canon(expected)``. ``repr`` keeps dict
    insertion order, so key order is checked too.
    """
    joined = normalize("\n\x00\n".join(repr(c) for c in chunks))
    return joined.split("\n\x00\n") if chunks else []


# ---- builders for expected chunks (key order as the reference emits them) ----------------


def exp_task(tid: str, name: str, input: Any, triggers: tuple[str, ...] | None = None) -> dict:
    """A ``tasks`` start payload."""
    return {
        "id": tid,
        "name": name,
        "input": input,
        "triggers": (f"branch:to:{name}",) if triggers is None else triggers,
    }


def exp_result(
    tid: str, name: str, result: Any, error: Any = None, interrupts: list | None = None
) -> dict:
    """A ``tasks`` result payload."""
    return {
        "id": tid,
        "name": name,
        "error": error,
        "result": result,
        "interrupts": [] if interrupts is None else interrupts,
    }


def exp_debug(step: int, type: str, payload: Any) -> dict:
    """A ``debug`` event; the timestamp is normalised to ``'<ts>'``."""
    return {"step": step, "timestamp": "<ts>", "type": type, "payload": payload}


def exp_config(
    thread_id: str, checkpoint_id: str, ns: str = "", checkpoint_map: dict | None = None
) -> dict:
    """A checkpoint config as streamed for a fresh checkpoint."""
    conf: dict[str, Any] = {"checkpoint_ns": ns, "thread_id": thread_id}
    if checkpoint_map is not None:
        conf["checkpoint_map"] = checkpoint_map
    conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def exp_cp_task(tid: str, name: str, interrupts: tuple = (), state: Any = None) -> dict:
    """A pending task entry of a ``checkpoints`` payload."""
    return {"id": tid, "name": name, "interrupts": interrupts, "state": state}


def exp_checkpoint(
    config: dict,
    parent_config: dict | None,
    values: dict,
    step: int,
    next: list[str],
    tasks: list[dict],
    source: str | None = None,
    parents: dict | None = None,
) -> dict:
    """A ``checkpoints`` payload; ``source`` defaults to 'input' for step -1, else 'loop'."""
    return {
        "config": config,
        "parent_config": parent_config,
        "values": values,
        "metadata": {
            "source": source or ("input" if step == -1 else "loop"),
            "step": step,
            "parents": {} if parents is None else parents,
        },
        "next": next,
        "tasks": tasks,
    }
