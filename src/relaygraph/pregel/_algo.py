"""The step algebra: plan a super-step's tasks and apply their writes. Pure, no I/O.

A super-step runs every task whose trigger channel was updated in the previous step, plus
one task per ``Send`` packet. Writes are applied together at the end of the step, in task
order (pushes in creation order, then pulls by node name), whatever order tasks finished in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from relaygraph.channels import BaseChannel
from relaygraph.constants import MISSING, PULL, PUSH, TASKS
from relaygraph.graph._node import NodeSpec
from relaygraph.types import Send


class Task:
    """One node execution within a super-step."""

    __slots__ = (
        "_cns",
        "_id",
        "_recipe",
        "cached",
        "config",
        "error",
        "input",
        "interrupts",
        "name",
        "node",
        "path",
        "result",
        "resume_values",
        "returned",
        "subgraph_ns",
        "triggers",
        "writes",
    )

    def __init__(
        self,
        id: str,
        name: str,
        path: tuple[Any, ...],
        input: Any,
        triggers: tuple[str, ...],
        node: NodeSpec,
        checkpoint_ns: str | None,
    ) -> None:
        self._id = id
        self._cns = checkpoint_ns
        self._recipe: tuple[str, str, int] | None = None
        self.name = name
        self.path = path
        self.input = input
        self.triggers = triggers
        self.node = node
        self.config: dict[str, Any] | None = None
        self.writes: list[tuple[str, Any]] = []
        self.error: BaseException | None = None
        self.interrupts: list[Any] = []
        self.result: Any = None
        self.returned: Any = MISSING
        self.cached = False
        self.resume_values: list[Any] = []
        self.subgraph_ns: str | None = None

    @classmethod
    def planned(
        cls,
        seed: str,
        ns: str,
        step: int,
        name: str,
        path: tuple[Any, ...],
        input: Any,
        triggers: tuple[str, ...],
        node: NodeSpec,
    ) -> Task:
        """A task whose id is derived (lazily) from where it was planned."""
        task = cls(None, name, path, input, triggers, node, None)  # type: ignore[arg-type]
        task._recipe = (seed, ns, step)
        return task

    @property
    def id(self) -> str:
        """Deterministic for a planned task: the same checkpoint plans the same ids."""
        tid = self._id
        if tid is None:
            seed, ns, step = self._recipe  # type: ignore[misc]
            tid = self._id = task_id(seed, ns, step, self.name, self.path)
        return tid

    @property
    def checkpoint_ns(self) -> str:
        """``parent_ns|name:id``: the namespace of graphs this task runs."""
        cns = self._cns
        if cns is None:
            ns = self._recipe[1] if self._recipe else ""
            cns = self._cns = f"{ns}|{self.name}:{self.id}" if ns else f"{self.name}:{self.id}"
        return cns

    def __repr__(self) -> str:
        return f"Task({self.name!r}, id={self.id!r})"


def task_id(seed: str, ns: str, step: int, name: str, path: Sequence[Any]) -> str:
    """A deterministic task id: the same checkpoint plans the same ids (needed to resume)."""
    digest = hashlib.blake2b(
        f"{seed}|{ns}|{step}|{name}|{path!r}".encode(), digest_size=16
    ).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:]}"


def read_state(channels: Mapping[str, BaseChannel], keys: Iterable[str]) -> dict[str, Any]:
    """The values of ``keys`` that are set, in the order given."""
    out: dict[str, Any] = {}
    for k in keys:
        ch = channels.get(k)
        if ch is not None and ch.value is not MISSING:
            out[k] = ch.value
    return out


def prepare_tasks(
    *,
    channels: Mapping[str, BaseChannel],
    updated: set[str],
    nodes: Mapping[str, NodeSpec],
    trigger_index: Mapping[str, Sequence[str]],
    step: int,
    seed: str,
    checkpoint_ns: str,
) -> list[Task]:
    """The tasks of the next super-step, in task order."""
    tasks: list[Task] = []
    packets = channels[TASKS].value if TASKS in channels else []
    for idx, packet in enumerate(packets or ()):
        if not isinstance(packet, Send) or packet.node not in nodes:
            continue
        tasks.append(
            Task.planned(
                seed,
                checkpoint_ns,
                step,
                packet.node,
                (PUSH, idx, False),
                packet.arg,
                (PUSH,),
                nodes[packet.node],
            )
        )
    candidates: set[str] = set()
    for ch in updated:
        names = trigger_index.get(ch)
        if names:
            candidates.update(names)
    for name in sorted(candidates) if len(candidates) > 1 else candidates:
        node = nodes[name]
        triggers = node.triggers
        if len(triggers) == 1:
            t = triggers[0]
            if not channels[t].is_available():
                continue
            fired: tuple[str, ...] = triggers
        else:
            fired = tuple(t for t in triggers if t in updated and channels[t].is_available())
            if not fired:
                continue
        info = node.input_info
        tasks.append(
            Task.planned(
                seed,
                checkpoint_ns,
                step,
                name,
                (PULL, name),
                info.build(read_state(channels, info.keys)),
                fired,
                node,
            )
        )
    return tasks


def apply_writes(
    channels: Mapping[str, BaseChannel],
    tasks: Sequence[Task],
    live_ephemeral: set[str],
    extra_writes: Sequence[tuple[str, Any]] = (),
) -> set[str]:
    """Apply the writes of a finished step (tasks in task order) and return what changed.

    Trigger channels of the tasks are consumed; edge triggers written in the previous step
    are cleared; ``live_ephemeral`` is updated in place to the triggers now set.
    """
    updated: set[str] = set()
    for task in tasks:
        node = task.node
        if node is not None and node.barriers:
            for t in node.barriers:
                if t in task.triggers and channels[t].consume():
                    updated.add(t)
    pending: dict[str, list[Any]] = {}
    for key, value in extra_writes:
        pending.setdefault(key, []).append(value)
    for task in tasks:
        for key, value in task.writes:
            bucket = pending.get(key)
            if bucket is None:
                pending[key] = [value]
            else:
                bucket.append(value)
    if live_ephemeral:
        for key in live_ephemeral.difference(pending):
            if channels[key].update(()):
                updated.add(key)
        live_ephemeral.clear()
    if TASKS not in pending:
        topic = channels.get(TASKS)
        if topic is not None and topic.value and topic.update(()):
            updated.add(TASKS)
    for key, values in pending.items():
        ch = channels.get(key)
        if ch is None:
            continue
        if ch.update(values):
            updated.add(key)
        if key.startswith("branch:"):
            live_ephemeral.add(key)
    return updated


def new_channels(
    spec: Mapping[str, BaseChannel], values: Mapping[str, Any] | None = None
) -> dict[str, BaseChannel]:
    """Fresh channels for a run, restored from stored values where given."""
    if not values:
        return {k: ch.new() for k, ch in spec.items()}
    return {k: ch.from_checkpoint(values.get(k, MISSING)) for k, ch in spec.items()}
