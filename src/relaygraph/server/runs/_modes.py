"""Stream modes on the wire and what the engine streams for them.

``WireEmitter.feed(ns, mode, payload)`` turns one engine item into the wire's events:

* ``values``/``updates``/``custom``/``debug``/``tasks``/``checkpoints`` keep their name;
* the engine's ``messages`` becomes ``messages`` (``[chunk, metadata]``) for the
  ``messages-tuple`` mode, and the legacy ``messages/metadata``, ``messages/partial``
  (the message accumulated so far) and ``messages/complete`` events for ``messages``;
* with ``stream_subgraphs`` an item from a subgraph gets ``|<ns1>|<ns2>`` appended to its
  name (never ``metadata``, ``events``, ``error`` or the legacy ``messages/*`` events).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["WIRE_MODES", "WireEmitter", "engine_modes", "mode_of_event"]

WIRE_MODES = (
    "values",
    "messages",
    "messages-tuple",
    "tasks",
    "checkpoints",
    "updates",
    "events",
    "debug",
    "custom",
)
_SAME = frozenset(("values", "updates", "custom", "debug", "tasks", "checkpoints"))


def engine_modes(wire: Iterable[str]) -> list[str]:
    """The engine stream modes a run with the ``wire`` modes needs (``events`` excluded)."""
    out: list[str] = []
    for mode in wire:
        engine = "messages" if mode in ("messages", "messages-tuple") else mode
        if engine != "events" and engine not in out:
            out.append(engine)
    return out


def mode_of_event(event: str) -> str:
    """The wire mode an event name belongs to (``""`` for ``metadata``/``error``)."""
    base = event.split("|", 1)[0]
    if base.startswith("messages/"):
        return "messages"
    if base == "messages":
        return "messages-tuple"
    if base in ("metadata", "error"):
        return ""
    return base


Publish = Callable[[str, Any], None]


class WireEmitter:
    """Publishes one run's engine items as wire events through ``publish(name, data)``."""

    def __init__(self, wire_modes: Iterable[str], subgraphs: bool, publish: Publish) -> None:
        self.modes = frozenset(wire_modes)
        self.subgraphs = subgraphs
        self.publish = publish
        self._tuples = "messages-tuple" in self.modes
        self._legacy = "messages" in self.modes
        self._seen: set[str] = set()
        self._partial: dict[str, Any] = {}

    def feed(self, ns: tuple[str, ...], mode: str, payload: Any) -> None:
        if mode in _SAME:
            if mode in self.modes:
                self.publish(self._name(mode, ns), payload)
        elif mode == "messages":
            if self._tuples:
                self.publish(self._name("messages", ns), payload)
            if self._legacy:
                self._legacy_messages(payload)

    def _name(self, mode: str, ns: tuple[str, ...]) -> str:
        if ns and self.subgraphs:
            return mode + "|" + "|".join(ns)
        return mode

    def _legacy_messages(self, payload: Any) -> None:
        message, metadata = payload
        msg_id = getattr(message, "id", None) or ""
        if msg_id not in self._seen:
            self._seen.add(msg_id)
            self.publish("messages/metadata", {msg_id: {"metadata": metadata}})
        if type(message).__name__.endswith("Chunk"):
            previous = self._partial.get(msg_id)
            merged = message if previous is None else previous + message
            self._partial[msg_id] = merged
            self.publish("messages/partial", [_as_message(merged)])
        else:
            self.publish("messages/complete", [message])


def _as_message(chunk: Any) -> Any:
    """A message chunk as the whole message it adds up to (``AIMessageChunk`` → ``AIMessage``)."""
    try:
        from langchain_core.messages import message_chunk_to_message
    except ImportError:  # pragma: no cover - messages only exist with langchain-core
        return chunk
    return message_chunk_to_message(chunk)
