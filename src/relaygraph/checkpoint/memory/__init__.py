"""``InMemorySaver``: checkpoints in a dict, for tests and scripts."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from relaygraph.checkpoint._memory_ops import MemoryThreadOps
from relaygraph.checkpoint.base import (
    BaseCheckpointSaver,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from relaygraph.constants import ERROR, INTERRUPT, RESUME

__all__ = ["InMemorySaver", "MemorySaver"]

_SPECIAL_WRITES = {ERROR: -1, INTERRUPT: -3, RESUME: -4}


class InMemorySaver(MemoryThreadOps, BaseCheckpointSaver):
    """Keeps checkpoints in process memory. Values are stored by reference, not copied."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # thread_id -> checkpoint_ns -> checkpoint_id -> (checkpoint, metadata, parent_id)
        self.storage: dict[
            str, dict[str, dict[str, tuple[Checkpoint, CheckpointMetadata, str | None]]]
        ] = {}
        # (thread_id, ns, checkpoint_id) -> {(task_id, idx): (task_id, channel, value, path)}
        self.writes: dict[
            tuple[str, str, str], dict[tuple[str, int], tuple[str, str, Any, str]]
        ] = {}

    def _tuple(self, thread_id: str, ns: str, cid: str) -> CheckpointTuple:
        checkpoint, metadata, parent = self.storage[thread_id][ns][cid]
        writes = self.writes.get((thread_id, ns, cid), {})
        return CheckpointTuple(
            config={
                "configurable": {"thread_id": thread_id, "checkpoint_ns": ns, "checkpoint_id": cid}
            },
            checkpoint=checkpoint,
            metadata=metadata,
            parent_config=(
                {
                    "configurable": {
                        "thread_id": thread_id,
                        "checkpoint_ns": ns,
                        "checkpoint_id": parent,
                    }
                }
                if parent
                else None
            ),
            pending_writes=[(w[0], w[1], w[2]) for w in writes.values()],
        )

    def get_tuple(self, config: dict[str, Any]) -> CheckpointTuple | None:
        conf = config.get("configurable") or {}
        thread_id = str(conf.get("thread_id"))
        ns = conf.get("checkpoint_ns", "")
        with self._lock:
            saved = self.storage.get(thread_id, {}).get(ns)
            if not saved:
                return None
            cid = conf.get("checkpoint_id")
            if cid:
                return self._tuple(thread_id, ns, cid) if cid in saved else None
            return self._tuple(thread_id, ns, max(saved))

    def list(
        self,
        config: dict[str, Any] | None,
        *,
        filter: dict[str, Any] | None = None,
        before: dict[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        conf = (config or {}).get("configurable") or {}
        with self._lock:
            threads = (
                [str(conf["thread_id"])]
                if conf.get("thread_id") is not None
                else list(self.storage)
            )
            out: list[CheckpointTuple] = []
            before_id = ((before or {}).get("configurable") or {}).get("checkpoint_id")
            for thread_id in threads:
                for ns, saved in self.storage.get(thread_id, {}).items():
                    if "checkpoint_ns" in conf and conf["checkpoint_ns"] != ns:
                        continue
                    for cid in sorted(saved, reverse=True):
                        if conf.get("checkpoint_id") and cid != conf["checkpoint_id"]:
                            continue
                        if before_id and cid >= before_id:
                            continue
                        metadata = saved[cid][1]
                        if filter and any(metadata.get(k) != v for k, v in filter.items()):
                            continue
                        out.append(self._tuple(thread_id, ns, cid))
        yield from out[:limit] if limit is not None else out

    def put(
        self,
        config: dict[str, Any],
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: dict[str, int],
    ) -> dict[str, Any]:
        conf = config["configurable"]
        thread_id = str(conf["thread_id"])
        ns = conf.get("checkpoint_ns", "")
        with self._lock:
            self.storage.setdefault(thread_id, {}).setdefault(ns, {})[checkpoint["id"]] = (
                checkpoint,
                metadata,
                conf.get("checkpoint_id"),
            )
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": checkpoint["id"],
            }
        }

    def put_writes(
        self,
        config: dict[str, Any],
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        conf = config["configurable"]
        key = (str(conf["thread_id"]), conf.get("checkpoint_ns", ""), conf["checkpoint_id"])
        with self._lock:
            bucket = self.writes.setdefault(key, {})
            for idx, (channel, value) in enumerate(writes):
                slot = (task_id, _SPECIAL_WRITES.get(channel, idx))
                if slot[1] >= 0 and slot in bucket:
                    continue
                bucket[slot] = (task_id, channel, value, task_path)

    def delete_thread(self, thread_id: str) -> None:
        with self._lock:
            self.storage.pop(str(thread_id), None)
            for key in [k for k in self.writes if k[0] == str(thread_id)]:
                del self.writes[key]


MemorySaver = InMemorySaver
"""Alias kept for code written against older LangGraph releases."""
