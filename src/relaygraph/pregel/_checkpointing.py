"""Checkpoints of a run: building them, storing them (as ``PUT`` requests), streaming them.

A mixin of :class:`~relaygraph.pregel._loop.RunLoop`, split out so the loop module holds the
step algorithm and this one what a checkpoint looks like (stored and in the ``checkpoints``
and ``debug`` modes).
"""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from typing import Any

from relaygraph.constants import ERROR, INTERRUPT, MISSING
from relaygraph.pregel._algo import Task, read_state
from relaygraph.pregel._ids import new_checkpoint_id_and_ts
from relaygraph.pregel._ops import PUT, Op
from relaygraph.stream import _payloads as payloads

ENGINE_METADATA_KEYS = frozenset({"source", "step", "parents"})
"""Metadata keys the engine sets on every checkpoint; a config entry never overrides them."""
EXCLUDED_METADATA_KEYS = frozenset(
    {
        "checkpoint_id",
        "checkpoint_ns",
        "checkpoint_map",
        "thread_id",
        "langgraph_step",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
    }
)
"""Config keys never copied into checkpoint metadata (LangGraph's ``EXCLUDED_METADATA_KEYS``)."""


def config_metadata(config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config's entries LangGraph stores in every checkpoint's metadata.

    From ``config["metadata"]`` then ``config["configurable"]`` (the first of a key wins):
    the scalar values (``str`` with NUL characters removed, ``int``, ``bool``, ``float``) of
    keys that are neither engine keys, nor excluded, nor private (``__``-prefixed).
    """
    out: dict[str, Any] = {}
    for obj in (config.get("metadata"), config.get("configurable")):
        if not obj:
            continue
        for key, value in obj.items():
            if (
                key in out
                or key in ENGINE_METADATA_KEYS
                or key in EXCLUDED_METADATA_KEYS
                or key.startswith("__")
            ):
                continue
            if isinstance(value, str):
                out[key] = value.replace("\u0000", "")
            elif isinstance(value, (int, float)):  # bool is an int
                out[key] = value
    return out


class Checkpointing:
    """The checkpoint half of ``RunLoop``; the state it reads is the loop's own."""

    graph: Any
    config: dict[str, Any]
    parent: Any
    ns: tuple[str, ...]
    emitter: Any
    checkpointer: Any
    durability: str
    thread_id: Any
    checkpoint_ns: str
    checkpoint_id: str | None
    checkpoint_config: dict[str, Any] | None
    parent_checkpoint_config: dict[str, Any] | None
    checkpoint_events: bool
    want_checkpoints: bool
    want_debug: bool
    channels: dict[str, Any]
    versions: dict[str, int]
    state_keys: tuple[str, ...]
    state_key_set: frozenset[str]
    out_single: str | None
    step: int
    last_nodes: list[str]
    last_checkpoint: tuple[Any, ...] | None = None
    _config_meta: dict[str, Any] | None = None
    _snapshot: dict[str, Any] | None

    def _plan(self) -> list[Task]:
        raise NotImplementedError

    def _values_chunk(self) -> Any:
        raise NotImplementedError

    def _checkpoint(self, source: str, updated: set[str]) -> Generator[Op, Any, list[Task]]:
        """Write (or just number) the checkpoint after a step; return the next step's tasks."""
        if self.checkpointer is None:
            return self._plan()
        parent_config = self.checkpoint_config
        self.checkpoint_id, ts = new_checkpoint_id_and_ts()
        next_tasks = self._plan()
        yield from self._put(source, updated, next_tasks, parent_config, ts)
        return next_tasks

    def _put(
        self,
        source: str,
        updated: set[str],
        next_tasks: list[Task],
        parent_config: dict[str, Any] | None = None,
        ts: str | None = None,
    ) -> Generator[Op, Any, None]:
        """Build the checkpoint numbered ``checkpoint_id`` (a new number without ``ts``)."""
        if ts is None:
            parent_config = self.checkpoint_config
            self.checkpoint_id, ts = new_checkpoint_id_and_ts()
        versions = self.versions
        values = self._channel_values(updated)
        checkpoint = {
            "v": 1,
            "id": self.checkpoint_id,
            "ts": ts,
            "channel_values": values,
            # versions of the channels that hold a value: cleared edge triggers drop out, so
            # a checkpoint stays the size of the state, not of the graph
            "channel_versions": {k: v for k in values if (v := versions.get(k)) is not None},
            "versions_seen": {},
            "updated_channels": sorted(updated),
            "last_nodes": self.last_nodes,
        }
        metadata: dict[str, Any] = {
            "source": source,
            "step": self.step,
            "parents": self._parents() if self.parent is not None else {},
        }
        extra = self._config_meta
        if extra is None:
            extra = self._config_meta = config_metadata(self.config)
        # stored with the config's entries; streamed without them, as LangGraph does
        stored = {**metadata, **extra} if extra else metadata
        parent_id = parent_config["configurable"].get("checkpoint_id") if parent_config else None
        put_config = {
            "configurable": {
                "thread_id": self.thread_id,
                "checkpoint_ns": self.checkpoint_ns,
                "checkpoint_id": parent_id,
            }
        }
        new_versions = {k: versions[k] for k in updated if k in versions}
        if self.durability != "exit" or source == "final":
            yield (PUT, put_config, checkpoint, stored, new_versions)
        self.parent_checkpoint_config = parent_config
        self.checkpoint_config = self._config_for(self.checkpoint_id)
        self.last_checkpoint = (checkpoint, stored, new_versions, put_config)
        if self.checkpoint_events:
            shown_parent = None if self.durability == "exit" else parent_config
            self._emit_checkpoint(metadata, next_tasks, shown_parent, None)

    def _channel_values(self, updated: set[str]) -> dict[str, Any]:
        """Stored channel values, kept up to date from each step's updated channels."""
        snap = self._snapshot
        channels = self.channels
        if snap is None:
            snap = {k: v for k, ch in channels.items() if (v := ch.checkpoint()) is not MISSING}
            self._snapshot = snap
        else:
            for k in updated:
                ch = channels.get(k)
                if ch is None:
                    continue
                v = ch.checkpoint()
                if v is MISSING:
                    snap.pop(k, None)
                else:
                    snap[k] = v
        return dict(snap)

    def final_put(self) -> Generator[Op, Any, None]:
        """With ``durability="exit"``: store the last checkpoint when the run ends."""
        last = self.last_checkpoint
        if self.checkpointer is not None and self.durability == "exit" and last is not None:
            checkpoint, metadata, new_versions, put_config = last
            put_config = {"configurable": {**put_config["configurable"], "checkpoint_id": None}}
            yield (PUT, put_config, checkpoint, metadata, new_versions)

    def _parents(self) -> dict[str, str]:
        parent = self.parent
        if parent is None:
            return {}
        loop = parent.loop
        out = dict(loop._parents())
        if loop.checkpoint_id:
            out[loop.checkpoint_ns] = loop.checkpoint_id
        return out

    def _config_for(self, checkpoint_id: str | None) -> dict[str, Any]:
        if not self.ns:
            return {
                "configurable": {
                    "checkpoint_ns": self.checkpoint_ns,
                    "thread_id": self.thread_id,
                    "checkpoint_id": checkpoint_id,
                }
            }
        cmap: dict[str, Any] = dict(self._parents())
        cmap[self.checkpoint_ns] = checkpoint_id
        conf = {
            "checkpoint_ns": self.checkpoint_ns,
            "thread_id": self.thread_id,
            "checkpoint_map": cmap,
            "checkpoint_id": checkpoint_id,
        }
        return {"configurable": conf}

    def _emit_checkpoint(
        self,
        metadata: Mapping[str, Any],
        next_tasks: Sequence[Task],
        parent_config: dict[str, Any] | None,
        saved: Any,
    ) -> None:
        payload = {
            "config": self.checkpoint_config,
            "parent_config": parent_config,
            "values": self._values_chunk()
            if self.out_single is None
            else read_state(self.channels, self.state_keys),
            "metadata": dict(metadata),
            "next": [t.name for t in next_tasks],
            "tasks": [self._task_entry(t, saved) for t in next_tasks],
        }
        if self.want_checkpoints:
            self.emitter.emit("checkpoints", payload)
        if self.want_debug:
            self.emitter.emit(
                "debug", payloads.debug(metadata.get("step", self.step), "checkpoint", payload)
            )

    def _task_entry(self, task: Task, saved: Any) -> dict[str, Any]:
        state = self._subgraph_state(task)
        if saved is not None and saved.pending_writes:
            writes = [(c, v) for tid, c, v in saved.pending_writes if tid == task.id]
            errors = [v for c, v in writes if c == ERROR]
            if errors:
                return {"id": task.id, "name": task.name, "error": errors[0], "state": state}
            interrupts = tuple(
                payloads.interrupt_as_dict(i) for c, v in writes if c == INTERRUPT for i in v
            )
            result = payloads.writes_result(writes, self.state_key_set)
            if result:
                return {
                    "id": task.id,
                    "name": task.name,
                    "result": result,
                    "interrupts": interrupts,
                    "state": state,
                }
            return {"id": task.id, "name": task.name, "interrupts": interrupts, "state": state}
        return {"id": task.id, "name": task.name, "interrupts": (), "state": state}

    def _subgraph_state(self, task: Task) -> dict[str, Any] | None:
        if task.node is not None and task.node.name in self.graph.subgraph_nodes:
            return {
                "configurable": {"thread_id": self.thread_id, "checkpoint_ns": task.checkpoint_ns}
            }
        return None
