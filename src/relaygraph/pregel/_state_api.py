"""Reading and writing a thread's state: ``get_state``, history, ``update_state``.

A mixin of :class:`~relaygraph.pregel.main.Pregel`; the same ``RunLoop`` that runs a graph
restores checkpoints and plans tasks here, without running anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from relaygraph.constants import END, INTERRUPT, MISSING, START
from relaygraph.errors import InvalidUpdateError
from relaygraph.pregel._algo import Task, apply_writes, read_state
from relaygraph.pregel._checkpointing import config_metadata
from relaygraph.pregel._context import current_task_or_none
from relaygraph.pregel._ids import new_checkpoint_id
from relaygraph.pregel._loop import PUT, RunLoop
from relaygraph.stream._emit import Emitter
from relaygraph.types import PregelTask, StateSnapshot

DEFAULT_RECURSION_LIMIT = 25


class StateAPI:
    """The state methods of a compiled graph."""

    checkpointer: Any
    store: Any
    nodes: dict[str, Any]
    state_keys: tuple[str, ...]
    state_info: Any

    def _saver(self) -> Any:
        parent = current_task_or_none()
        saver = self.checkpointer
        if saver in (None, True) and parent is not None:
            saver = parent.loop.checkpointer
        if saver in (None, True, False):
            raise ValueError("No checkpointer set")
        return saver

    def _state_loop(self, config: Mapping[str, Any]) -> RunLoop:
        conf = dict(config.get("configurable") or {})
        ns = tuple(e for e in conf.get("checkpoint_ns", "").split("|") if e)
        loop = RunLoop(
            self,  # type: ignore[arg-type]  # always a Pregel: this class is its mixin
            None,
            config=dict(config),
            emitter=Emitter(ns, []),
            checkpointer=self._saver(),
            durability="sync",
            recursion_limit=DEFAULT_RECURSION_LIMIT,
            interrupt_before=(),
            interrupt_after=(),
            output_keys=None,
            context=None,
            store=self.store,
            cache=None,
            ns=ns,
        )
        return loop

    def _snapshot(self, loop: RunLoop, saved: Any, latest: bool = False) -> StateSnapshot:
        """A checkpoint as a ``StateSnapshot``. For the thread's latest state (``latest``),
        tasks that already finished (their writes are saved) are left out of ``next``."""
        if saved is None:
            return StateSnapshot({}, (), dict(loop.config), None, None, None, (), ())
        loop._restore(saved)
        tasks = loop._plan()
        writes_by_task: dict[str, list[tuple[str, Any]]] = {}
        for tid, ch, v in saved.pending_writes or ():
            writes_by_task.setdefault(tid, []).append((ch, v))
        out_tasks = []
        interrupts: list[Any] = []
        pending: list[str] = []
        for t in tasks:
            w = writes_by_task.get(t.id, [])
            plain = [(c, v) for c, v in w if not c.startswith("__")]
            if plain and latest:  # finished (maybe after an error or interrupt): not next
                done = dict((c, v) for c, v in plain if c in loop.state_key_set)
                out_tasks.append(
                    PregelTask(t.id, t.name, t.path, None, (), loop._subgraph_state(t), done)
                )
                continue
            errs = [v for c, v in w if c == "__error__"]
            ints = tuple(i for c, v in w if c == INTERRUPT for i in v)
            result: dict[str, Any] | None = None
            if plain and not errs and not ints:
                result = dict((c, v) for c, v in plain if c in loop.state_key_set)
            interrupts.extend(ints)
            pending.append(t.name)
            out_tasks.append(
                PregelTask(
                    t.id,
                    t.name,
                    t.path,
                    errs[0] if errs else None,
                    ints,
                    loop._subgraph_state(t),
                    result,
                )
            )
        values = read_state(loop.channels, self.state_keys)
        return StateSnapshot(
            values=values,
            next=tuple(pending),
            config=saved.config,
            metadata=saved.metadata,
            created_at=saved.checkpoint.get("ts"),
            parent_config=saved.parent_config,
            tasks=tuple(out_tasks),
            interrupts=tuple(interrupts),
        )

    def get_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state at its latest checkpoint (or ``checkpoint_id``)."""
        loop = self._state_loop(config)
        latest = not (config.get("configurable") or {}).get("checkpoint_id")
        return self._snapshot(loop, loop.checkpointer.get_tuple(loop.state_config()), latest)

    async def aget_state(
        self, config: Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        loop = self._state_loop(config)
        latest = not (config.get("configurable") or {}).get("checkpoint_id")
        saved = await loop.checkpointer.aget_tuple(loop.state_config())
        return self._snapshot(loop, saved, latest)

    def get_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints, newest first."""
        loop = self._state_loop(config)
        for saved in loop.checkpointer.list(
            loop.state_config(), filter=filter, before=before, limit=limit
        ):
            yield self._snapshot(self._state_loop(config), saved)

    async def aget_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        loop = self._state_loop(config)
        async for saved in loop.checkpointer.alist(
            loop.state_config(), filter=filter, before=before, limit=limit
        ):
            yield self._snapshot(self._state_loop(config), saved)

    def update_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        """Write ``values`` to the thread as if node ``as_node`` had returned them."""
        loop = self._state_loop(config)
        saver = loop.checkpointer
        saved = saver.get_tuple(loop.state_config())
        op = self._update_op(loop, saved, values, as_node)
        return saver.put(*op[1:])  # type: ignore[no-any-return]

    async def aupdate_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        loop = self._state_loop(config)
        saver = loop.checkpointer
        saved = await saver.aget_tuple(loop.state_config())
        op = self._update_op(loop, saved, values, as_node)
        return await saver.aput(*op[1:])  # type: ignore[no-any-return]

    def _update_op(
        self, loop: RunLoop, saved: Any, values: Any, as_node: str | None
    ) -> tuple[Any, ...]:
        loop._restore(saved)
        if as_node is None:
            last = (saved.checkpoint.get("last_nodes") if saved else None) or []
            if saved is None:
                as_node = START
            elif len(last) == 1:
                as_node = last[0]
            elif len(self.nodes) == 1:
                as_node = next(iter(self.nodes))
            elif not last:
                as_node = START
            else:
                raise InvalidUpdateError("Ambiguous update, specify as_node")
        if as_node != START and as_node != END and as_node not in self.nodes:
            raise InvalidUpdateError(f"Node {as_node} does not exist")
        if as_node == START:
            writes = loop._input_writes(values if values is not None else {})
        elif as_node == END:
            writes = [(k, v) for k, v in (values or {}).items() if k in loop.state_key_set]
        else:
            task = Task(
                "update", as_node, ("__pregel_pull", as_node), None, (), self.nodes[as_node], ""
            )
            writes = loop._output_writes(task, values)
            for branch in self.nodes[as_node].branches:
                view = loop._fresh_state(writes)
                writes.extend(loop._branch_writes(branch, branch.path(self.state_info.build(view))))
        task = Task("update", as_node, (), None, (), None, "")  # type: ignore[arg-type]
        task.writes = writes
        updated = apply_writes(loop.channels, [task], loop.live_ephemeral)
        for ch in updated:
            loop.versions[ch] = loop.versions.get(ch, 0) + 1
        step = (saved.metadata.get("step", -1) + 1) if saved else -1
        checkpoint = {
            "v": 1,
            "id": new_checkpoint_id(),
            "ts": __import__("relaygraph.stream._payloads", fromlist=["now_iso"]).now_iso(),
            "channel_values": {
                k: v for k, ch in loop.channels.items() if (v := ch.checkpoint()) is not MISSING
            },
            "channel_versions": dict(loop.versions),
            "versions_seen": {},
            "updated_channels": sorted(updated),
            "last_nodes": [as_node],
        }
        put_config = {
            "configurable": {
                "thread_id": loop.thread_id,
                "checkpoint_ns": loop.checkpoint_ns,
                "checkpoint_id": saved.checkpoint["id"] if saved else None,
            }
        }
        metadata: dict[str, Any] = {"source": "update", "step": step, "parents": {}}
        metadata.update(config_metadata(loop.config))
        return (PUT, put_config, checkpoint, metadata, {k: loop.versions[k] for k in updated})
