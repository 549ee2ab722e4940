"""Per-channel blobs that grow with what changed: the pure half of the SQL savers.

A checkpoint row stores ``refs``: for each channel with a value, the key of the blob holding
it. A blob is keyed ``(thread_id, checkpoint_ns, channel, version)`` where ``version`` is
``"<engine version>.<id of the checkpoint that wrote it>"``, so a fork that reuses an engine
version number cannot collide with the branch it forked from. ``put`` writes blobs only for
channels whose version moved since the parent checkpoint; the others reuse the parent's refs.

Append-style channels (a list that starts with the exact objects of the previous version's
list, as ``operator.add`` and ``add_messages`` produce) are stored as a *delta*: the new items
plus the key of the base blob. A full copy is written again once the chain of deltas gets
longer than ``max(MIN_CHAIN, items in the base)``, so the bytes stored stay within a small
factor of the final state while a read never walks more than that many rows.

The previous values come from :class:`ThreadHead`, a per-thread cache filled by ``put`` and
``get_tuple``; it is used only when a ``put`` names the cached checkpoint as its parent.
Delta detection compares item identity, so it assumes list items are not mutated in place
after being written (the same assumption LangGraph's reducers make).
"""

from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from relaygraph.checkpoint.serde import JsonPlusSerializer

MIN_CHAIN = 64
FULL, DELTA = "full", "delta"
_NONE: Mapping[str, Any] = {}

BlobKey = tuple[str, str, str, str]
"""``(thread_id, checkpoint_ns, channel, version)``."""
BlobRow = tuple[str, str, str, str, str, str | None, bytes]
"""``(thread_id, checkpoint_ns, channel, version, kind, base_version, data)``."""


@dataclass(slots=True)
class ListState:
    """What a list channel looked like at the head: to detect and size the next delta."""

    version: str
    items: list[Any]
    depth: int  # deltas between this blob and its full base
    base_len: int  # items in the full base


@dataclass(slots=True)
class ThreadHead:
    """The last checkpoint this saver wrote or read for one ``(thread_id, checkpoint_ns)``."""

    checkpoint_id: str
    versions: dict[str, Any]
    refs: dict[str, str]
    lists: dict[str, ListState] = field(default_factory=dict)


class HeadCache:
    """A small LRU of :class:`ThreadHead` per ``(thread_id, checkpoint_ns)``; thread-safe."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._heads: OrderedDict[tuple[str, str], ThreadHead] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, thread_id: str, ns: str, checkpoint_id: str | None) -> ThreadHead | None:
        """The cached head, if it is checkpoint ``checkpoint_id``."""
        if checkpoint_id is None:
            return None
        with self._lock:
            head = self._heads.get((thread_id, ns))
            if head is None or head.checkpoint_id != checkpoint_id:
                return None
            self._heads.move_to_end((thread_id, ns))
            return head

    def put(self, thread_id: str, ns: str, head: ThreadHead) -> None:
        with self._lock:
            self._heads[(thread_id, ns)] = head
            self._heads.move_to_end((thread_id, ns))
            while len(self._heads) > self.size:
                self._heads.popitem(last=False)

    def forget(self, thread_id: str) -> None:
        with self._lock:
            for key in [k for k in self._heads if k[0] == thread_id]:
                del self._heads[key]


def _extends(value: list[Any], prev: list[Any]) -> bool:
    n = len(prev)
    return len(value) >= n and all(map(operator.is_, value, prev))  # stops at len(prev)


def plan_blobs(
    serde: JsonPlusSerializer,
    thread_id: str,
    ns: str,
    checkpoint_id: str,
    values: Mapping[str, Any],
    versions: Mapping[str, Any],
    new_versions: Mapping[str, Any],
    head: ThreadHead | None,
) -> tuple[dict[str, str], dict[str, Any], list[BlobRow], ThreadHead]:
    """``(refs, inline values, blob rows to insert, the new head)`` for one ``put``.

    Channels with a value but no version (defaults no step has written) and ``None`` values
    (the edge triggers written every step) are stored inline in the checkpoint row rather
    than as blobs.
    """
    refs: dict[str, str] = {}
    inline: dict[str, Any] = {}
    rows: list[BlobRow] = []
    lists: dict[str, ListState] = {}
    new_head = ThreadHead(checkpoint_id, {}, refs, lists)
    head_versions = new_head.versions
    old_versions, old_refs, old_lists = (
        (head.versions, head.refs, head.lists) if head is not None else (_NONE, _NONE, _NONE)
    )
    dumps = serde.dumps
    for ch, value in values.items():
        v = versions.get(ch)
        if v is None or value is None:  # defaults and edge triggers: a few bytes, inline
            inline[ch] = value
            continue
        head_versions[ch] = v
        if ch not in new_versions and old_versions.get(ch) == v:
            ref = old_refs.get(ch)
            if ref is not None:
                refs[ch] = ref
                if ch in old_lists:
                    lists[ch] = old_lists[ch]
                continue
        key = f"{v}.{checkpoint_id}"
        refs[ch] = key
        if type(value) is list:
            prev = old_lists.get(ch)
            if (
                prev is not None
                and prev.depth < max(MIN_CHAIN, prev.base_len)
                and value is not prev.items
                and _extends(value, prev.items)
            ):
                data = dumps(value[len(prev.items) :], channel=ch)
                rows.append((thread_id, ns, ch, key, DELTA, prev.version, data))
                lists[ch] = ListState(key, list(value), prev.depth + 1, prev.base_len)
                continue
            lists[ch] = ListState(key, list(value), 0, len(value))
        rows.append((thread_id, ns, ch, key, FULL, None, dumps(value, channel=ch)))
    return refs, inline, rows, new_head


class BlobReader:
    """Rebuilds channel values from blob rows, following delta chains (each blob decoded once)."""

    def __init__(self, serde: JsonPlusSerializer, rows: Iterable[BlobRow]) -> None:
        self.serde = serde
        self.rows = {(r[0], r[1], r[2], r[3]): r for r in rows}
        self.memo: dict[BlobKey, tuple[Any, int, int]] = {}

    def value(self, key: BlobKey) -> tuple[Any, int, int]:
        """``(value, depth, base_len)`` of the blob ``key``."""
        memo = self.memo
        if key in memo:
            return memo[key]
        path: list[BlobKey] = []
        cur: BlobKey | None = key
        while cur is not None and cur not in memo:
            row = self.rows.get(cur)
            if row is None:
                raise LookupError(
                    f"checkpoint blob {cur} is missing (deleted or pruned while in use?)"
                )
            path.append(cur)
            base = row[5]
            if row[4] == FULL:
                value = self.serde.loads(row[6])
                memo[cur] = (value, 0, len(value) if type(value) is list else 0)
                path.pop()
                cur = None
            else:
                cur = (cur[0], cur[1], cur[2], base) if base is not None else None
        for k in reversed(path):
            row = self.rows[k]
            base_key = (k[0], k[1], k[2], row[5] or "")
            base_value, depth, base_len = memo[base_key]
            memo[k] = (base_value + self.serde.loads(row[6]), depth + 1, base_len)
        return memo[key]

    def values(
        self, thread_id: str, ns: str, checkpoint_id: str, refs: Mapping[str, str]
    ) -> tuple[dict[str, Any], ThreadHead]:
        """The channel values a checkpoint's refs name, and the head they make."""
        out: dict[str, Any] = {}
        head = ThreadHead(checkpoint_id, {}, dict(refs))
        for ch, version in refs.items():
            value, depth, base_len = self.value((thread_id, ns, ch, version))
            out[ch] = value
            if type(value) is list:
                head.lists[ch] = ListState(version, list(value), depth, base_len)
        return out, head


def wanted_keys(thread_id: str, ns: str, refs: Mapping[str, str]) -> list[BlobKey]:
    return [(thread_id, ns, ch, v) for ch, v in refs.items()]


def reachable(kept: Iterable[BlobKey], bases: Mapping[BlobKey, str | None]) -> set[BlobKey]:
    """Blob keys reachable from ``kept`` through delta bases (``bases``: key -> base version)."""
    seen: set[BlobKey] = set()
    stack = list(kept)
    while stack:
        key = stack.pop()
        if key in seen:
            continue
        seen.add(key)
        base = bases.get(key)
        if base is not None:
            stack.append((key[0], key[1], key[2], base))
    return seen
