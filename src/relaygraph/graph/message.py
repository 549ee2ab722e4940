"""Message state: the ``add_messages`` reducer and the ``MessagesState`` schema.

This module needs ``langchain-core`` (the ``messages`` extra). ``relaygraph.graph`` loads it
only when one of its names is first used, so graphs without messages never import LangChain.
"""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any, Literal

from langchain_core.messages import (
    AnyMessage,
    BaseMessage,
    BaseMessageChunk,
    RemoveMessage,
    convert_to_messages,
    message_chunk_to_message,
)
from typing_extensions import TypedDict

__all__ = ["REMOVE_ALL_MESSAGES", "MessagesState", "add_messages"]

REMOVE_ALL_MESSAGES = "__remove_all__"
"""``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` clears every message written before it."""

Messages = Any
"""A message, a message-like value (dict, ``(role, content)`` tuple, str) or a list of them."""


def add_messages(
    left: Messages = None,
    right: Messages = None,
    *,
    format: Literal["langchain-openai"] | None = None,
) -> Any:
    """Merge two lists of messages, replacing those whose id is already present.

    * Message-like values (dicts, ``(role, content)`` tuples, strings, chunks) become
      LangChain messages; a single value counts as a one-element list.
    * A message without an id gets a fresh uuid4 id, **in place** (the caller's object
      changes, so the update and the state show the same id).
    * A message in ``right`` whose id is already in ``left`` replaces it where it stands;
      ``RemoveMessage(id=...)`` deletes it (``ValueError`` when no such id exists), and
      ``RemoveMessage(id=REMOVE_ALL_MESSAGES)`` drops everything before it.
    * ``format="langchain-openai"`` re-shapes the result through the OpenAI message format.

    Called with neither list (``add_messages(format=...)``) it returns the reducer with
    those options bound, for ``Annotated[list, add_messages(format="langchain-openai")]``.
    """
    if left is None and right is None:
        return partial(_merge, format=format)
    if left is None or right is None:
        missing = "left" if left is None else "right"
        raise ValueError(
            "add_messages needs both 'left' and 'right' (or neither, to bind options); "
            f"'{missing}' is None"
        )
    return _merge(left, right, format=format)


def _merge(left: Messages, right: Messages, *, format: str | None = None) -> list[AnyMessage]:
    old = _as_messages(left)
    new = _as_messages(right)
    for m in old:
        if m.id is None:
            m.id = str(uuid.uuid4())
    cut = -1
    for i, m in enumerate(new):
        if m.id is None:
            m.id = str(uuid.uuid4())
        elif isinstance(m, RemoveMessage) and m.id == REMOVE_ALL_MESSAGES:
            cut = i
    if cut >= 0:
        merged = new[cut + 1 :]
    else:
        merged = list(old)
        position = {m.id: i for i, m in enumerate(merged)}
        removed: set[str] = set()
        for m in new:
            mid = m.id
            at = position.get(mid)
            if at is None:
                if isinstance(m, RemoveMessage):
                    raise ValueError(
                        f"Cannot remove message {mid!r}: no message with that id exists"
                    )
                position[mid] = len(merged)
                merged.append(m)
            elif isinstance(m, RemoveMessage):
                removed.add(mid)  # type: ignore[arg-type]
            else:
                removed.discard(mid)  # type: ignore[arg-type]
                merged[at] = m
        if removed:
            merged = [m for m in merged if m.id not in removed]
    if format == "langchain-openai":
        return _openai_format(merged)
    if format:
        raise ValueError(f"Unknown format {format!r}; expected 'langchain-openai' or None")
    return merged


def _as_messages(value: Messages) -> list[AnyMessage]:
    items = value if isinstance(value, list) else [value]
    # The common case (a history of plain messages) needs no conversion: check the types once.
    kinds = set(map(type, items))
    if all(issubclass(k, BaseMessage) and not issubclass(k, BaseMessageChunk) for k in kinds):
        return items
    out: list[AnyMessage] = []
    for m in convert_to_messages(items):
        out.append(message_chunk_to_message(m) if isinstance(m, BaseMessageChunk) else m)  # type: ignore[arg-type]
    return out


def _openai_format(messages: list[AnyMessage]) -> list[AnyMessage]:
    from langchain_core.messages import convert_to_openai_messages

    return convert_to_messages(convert_to_openai_messages(messages))  # type: ignore[return-value]


class MessagesState(TypedDict):
    """A state with one ``messages`` key that accumulates with ``add_messages``."""

    messages: Annotated[list[AnyMessage], add_messages]
