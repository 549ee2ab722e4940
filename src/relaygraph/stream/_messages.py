"""``messages`` and ``tools`` modes: LangChain callbacks, plus messages that nodes return.

When a run wants either mode, every task's config gets LangChain callback handlers bound to
that task (``attach_messages_handler``). The engine installs the task config as LangChain's
current config, so chat models and tools called inside the node find the handlers whether or
not the node passes its config on. The handlers emit through the *task's* loop, so events
carry the namespace of the graph the task belongs to, and a subgraph whose emitter has no
route for the mode (``subgraphs=False``) emits nothing.

* Chat models: one ``(AIMessageChunk, metadata)`` per token, or the whole ``AIMessage`` of a
  model that does not stream. The messages handler is a LangChain "streaming" handler, so
  ``.invoke()`` streams too. ``metadata`` is built once per model call and shared by its chunks.
* Node results: ``emit_returned_messages`` emits each message in a finished node's return
  value that the run has not seen yet (not in the node's input, not emitted before).
* Tools: ``tool-started`` / ``tool-finished`` / ``tool-error`` dicts on the ``tools`` mode.

Models and tools tagged ``nostream`` emit nothing. LangChain is imported here, and this module
is only imported once a run wants one of these modes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields, is_dataclass
from typing import Any
from uuid import UUID, uuid4

from relaygraph.constants import TAG_NOSTREAM
from relaygraph.errors import GraphInterrupt
from relaygraph.types import Command

try:
    from langchain_core.callbacks import BaseCallbackHandler, BaseCallbackManager
    from langchain_core.callbacks import CallbackManager as _CallbackManager
    from langchain_core.messages import BaseMessage
except ImportError:  # the "messages" extra is missing: no model, tool or message can exist
    _HAVE_LANGCHAIN = False
    BaseCallbackHandler = object  # type: ignore[misc, assignment]
    BaseCallbackManager = object  # type: ignore[misc, assignment]
    _CallbackManager = object  # type: ignore[misc, assignment]
    BaseMessage = ()  # type: ignore[misc, assignment]
else:
    _HAVE_LANGCHAIN = True

try:  # the marker that makes chat models stream when this handler is attached
    from langchain_core.tracers._streaming import _StreamingCallbackHandler
except ImportError:
    _StreamingCallbackHandler = object  # type: ignore[misc, assignment]

__all__ = ["attach_messages_handler", "emit_returned_messages"]

_NS_KEY = "langgraph_checkpoint_ns"


# == attaching handlers ===================================================================
def attach_messages_handler(loop: Any, task: Any, config: dict[str, Any]) -> None:
    """Give ``config`` a callback manager with this task's ``messages`` / ``tools`` handlers.

    The manager also carries the task's metadata and tags as inheritable, as a LangChain
    parent run would: a model called with its own ``metadata`` (``with_config``) still
    reports the task's ``langgraph_*`` keys.
    """
    if not _HAVE_LANGCHAIN:
        return
    metadata = config.get("metadata") or {}
    handlers: list[Any] = []
    if loop.want_messages:
        handlers.append(_MessagesHandler(loop, task, metadata))
    if getattr(loop, "want_tools", False):
        handlers.append(_ToolsHandler(loop, task))
    if handlers:
        config["callbacks"] = _manager_for(
            config.get("callbacks"), handlers, metadata, config.get("tags")
        )


def _manager_for(
    existing: Any, handlers: list[Any], metadata: Mapping[str, Any], tags: Sequence[str] | None
) -> Any:
    """``existing`` callbacks plus ``handlers`` (minus ours inherited from a parent task)."""
    if isinstance(existing, BaseCallbackManager):
        manager = existing.copy()
        for h in list(manager.handlers):
            if isinstance(h, _OwnHandler):
                manager.remove_handler(h)
        for h in handlers:
            manager.add_handler(h, inherit=True)
        manager.add_metadata(dict(metadata), inherit=True)
        if tags:
            manager.add_tags(list(tags), inherit=True)
        return manager
    inherited = existing if isinstance(existing, (list, tuple)) else ()
    all_handlers = [h for h in inherited if not isinstance(h, _OwnHandler)] + handlers
    return _CallbackManager(
        handlers=all_handlers,
        inheritable_handlers=list(all_handlers),
        tags=list(tags or ()),
        inheritable_tags=list(tags or ()),
        metadata=dict(metadata),
        inheritable_metadata=dict(metadata),
    )


def _root_seen(loop: Any) -> set[str]:
    """The run-wide set of message ids already emitted or known (shared with subgraphs)."""
    while loop.parent is not None:
        loop = loop.parent.loop
    seen: set[str] = loop.messages_seen
    return seen


class _OwnHandler(BaseCallbackHandler):  # type: ignore[misc]
    """Common ground of this module's handlers: bound to one task, called inline."""

    run_inline = True
    ignore_chain = True
    ignore_retriever = True
    ignore_retry = True
    ignore_custom_event = True

    def __init__(self, task_ns: str, write: Callable[[Any], None]) -> None:
        self.task_ns = task_ns
        self.write = write

    def _mine(self, metadata: Mapping[str, Any] | None, tags: Sequence[str] | None) -> bool:
        """Whether a callback run belongs to this task (not a subgraph's) and may stream."""
        if metadata is None or (tags and TAG_NOSTREAM in tags):
            return False
        ns = metadata.get(_NS_KEY)
        return ns is None or ns == self.task_ns

    # the _StreamingCallbackHandler protocol: pass outputs through untouched
    def tap_output_iter(self, run_id: UUID, output: Any) -> Any:
        return output

    def tap_output_aiter(self, run_id: UUID, output: Any) -> Any:
        return output


# == messages: chat model callbacks =======================================================
class _MessagesHandler(_OwnHandler, _StreamingCallbackHandler):  # type: ignore[misc]
    """Streams a task's chat-model output on the ``messages`` mode."""

    ignore_agent = True  # tool callbacks belong to the tools handler

    def __init__(self, loop: Any, task: Any, task_metadata: Mapping[str, Any]) -> None:
        super().__init__(task.checkpoint_ns, loop.emitter.writer("messages"))
        self.task_keys = tuple(task_metadata)
        self.seen = _root_seen(loop)
        self.runs: dict[UUID, dict[str, Any]] = {}

    def on_chat_model_start(
        self,
        serialized: dict[str, Any],
        messages: list[list[Any]],
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self._mine(metadata, tags):
            self.runs[run_id] = _llm_metadata(self.task_keys, metadata, tags)  # type: ignore[arg-type]

    def on_llm_new_token(
        self, token: Any, *, chunk: Any = None, run_id: UUID, **kwargs: Any
    ) -> None:
        meta = self.runs.get(run_id)
        if meta is None or chunk is None:
            return
        message = chunk.message
        mid = message.id
        if mid is None:
            message.id = mid = str(uuid4())
        self.seen.add(mid)
        self.write((message, meta))

    def on_llm_end(self, response: Any, *, run_id: UUID, **kwargs: Any) -> None:
        meta = self.runs.pop(run_id, None)
        if meta is None:
            return
        generations = response.generations
        if not generations or not generations[0]:
            return
        message = getattr(generations[0][0], "message", None)
        if message is None:
            return
        mid = message.id
        if mid is None:
            message.id = mid = str(uuid4())
        elif mid in self.seen:  # streamed already: its chunks carried this id
            return
        self.seen.add(mid)
        self.write((message, meta))

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        self.runs.pop(run_id, None)


def _llm_metadata(
    task_keys: Sequence[str], metadata: dict[str, Any], tags: Sequence[str] | None
) -> dict[str, Any]:
    """The metadata dict of one model call, in the reference's key order.

    First the task's own keys (user metadata, ``thread_id``, the ``langgraph_*`` keys), with
    ``ls_integration`` just before ``langgraph_step``; then what the model added (its
    ``with_config`` metadata, ``checkpoint_ns``, ``ls_*``, ``lc_versions``); then the user
    tags (internal ``seq:step:N`` tags removed), only when there are some.
    """
    out: dict[str, Any] = {}
    integration = metadata.get("ls_integration")
    for key in task_keys:
        if key == "langgraph_step" and integration is not None:
            out["ls_integration"] = integration
        if key in metadata:
            out[key] = metadata[key]
    for key, value in metadata.items():
        if key not in out:
            out[key] = value
    if tags:
        user_tags = [t for t in tags if not t.startswith("seq:step")]
        if user_tags:
            out["tags"] = user_tags
    return out


# == messages: node return values =========================================================
def emit_returned_messages(loop: Any, task: Any) -> None:
    """Emit the messages in ``task.returned`` that the run has not seen yet.

    Looks at the value itself, the items of a list, the values of a dict (or the fields of a
    dataclass / Pydantic model) and the items of sequences among them, and the ``update`` of
    returned ``Command`` objects. A message without an id gets a uuid4 id in place.
    """
    if not _HAVE_LANGCHAIN:
        return
    found: list[Any] = []
    returned = task.returned
    if isinstance(returned, Command):
        _collect(returned.update, found)
    elif isinstance(returned, (list, tuple)) and any(isinstance(r, Command) for r in returned):
        for r in returned:
            _collect(r.update if isinstance(r, Command) else r, found)
    else:
        _collect(returned, found)
    if not found:
        return
    seen = _root_seen(loop)
    _collect_input_ids(task.input, seen)
    meta: dict[str, Any] | None = None
    for message in found:
        mid = message.id
        if mid is None:
            message.id = mid = str(uuid4())
        elif mid in seen:
            continue
        seen.add(mid)
        if meta is None:
            meta = _node_metadata(task.config if task.config is not None else loop.config_of(task))
        loop.emitter.emit("messages", (message, meta))


def _node_metadata(config: Mapping[str, Any]) -> dict[str, Any]:
    """The task's metadata with ``ls_integration: 'langgraph'`` before the ``langgraph_*`` keys."""
    out: dict[str, Any] = {}
    placed = False
    for key, value in (config.get("metadata") or {}).items():
        if key == "langgraph_step" and not placed:
            out["ls_integration"] = "langgraph"
            placed = True
        out[key] = value
    if not placed:
        out = {"ls_integration": "langgraph", **out}
    return out


def _collect(value: Any, found: list[Any]) -> None:
    if isinstance(value, BaseMessage):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        found.extend(v for v in value if isinstance(v, BaseMessage))
    else:
        for field_value in _field_values(value):
            if isinstance(field_value, BaseMessage):
                found.append(field_value)
            elif isinstance(field_value, (list, tuple)):
                found.extend(v for v in field_value if isinstance(v, BaseMessage))


def _collect_input_ids(state: Any, seen: set[str]) -> None:
    for value in _field_values(state):
        if isinstance(value, BaseMessage):
            if value.id is not None:
                seen.add(value.id)
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, BaseMessage) and item.id is not None:
                    seen.add(item.id)


def _field_values(obj: Any) -> Sequence[Any]:
    """The top-level values of a state: dict values, dataclass or Pydantic fields."""
    if isinstance(obj, dict):
        return list(obj.values())
    if is_dataclass(obj) and not isinstance(obj, type):
        return [getattr(obj, f.name) for f in fields(obj)]
    model_fields = getattr(type(obj), "model_fields", None)
    if isinstance(model_fields, dict):
        return [getattr(obj, k, None) for k in model_fields]
    return ()


# == tools ================================================================================
class _ToolsHandler(_OwnHandler, _StreamingCallbackHandler):  # type: ignore[misc]
    """Reports a task's tool calls on the ``tools`` mode."""

    ignore_llm = True
    ignore_chat_model = True

    def __init__(self, loop: Any, task: Any) -> None:
        super().__init__(task.checkpoint_ns, loop.emitter.writer("tools"))
        self.calls: dict[UUID, str] = {}

    def on_tool_start(
        self,
        serialized: dict[str, Any],
        input_str: str,
        *,
        run_id: UUID,
        parent_run_id: UUID | None = None,
        tags: list[str] | None = None,
        metadata: dict[str, Any] | None = None,
        inputs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not self._mine(metadata, tags):
            return
        call_id = kwargs.get("tool_call_id") or str(run_id)
        self.calls[run_id] = call_id
        payload: dict[str, Any] = {
            "event": "tool-started",
            "tool_call_id": call_id,
            "tool_name": (serialized or {}).get("name") or kwargs.get("name") or "",
        }
        if inputs is not None:
            payload["input"] = inputs
        self.write(payload)

    def on_tool_end(self, output: Any, *, run_id: UUID, **kwargs: Any) -> None:
        call_id = self.calls.pop(run_id, None)
        if call_id is not None:
            self.write({"event": "tool-finished", "tool_call_id": call_id, "output": output})

    def on_tool_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        call_id = self.calls.pop(run_id, None)
        # An interrupted tool has not failed: it runs again, start to end, on resume.
        if call_id is not None and not isinstance(error, GraphInterrupt):
            self.write({"event": "tool-error", "tool_call_id": call_id, "message": str(error)})
