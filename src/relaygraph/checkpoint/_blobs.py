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

Deltas and small scalar values are *owned* by the checkpoint row that wrote them: they are
stored inside its document (``own``: ``{channel: value}``, with ``bases``: ``{channel: base
version}`` and ``depths``: ``{channel: depth}`` for deltas; flat mappings serialize fastest)
rather than as rows of the blob table, so a typical step writes one row. Full values of
containers (and long strings) go to the blob table, since they are read by many later
checkpoints. A key says which checkpoint wrote it but not where it is stored: readers look
in the blob table and in the owners' rows (see :func:`missing_keys`), and ``prune`` moves the
owned entries still in use out of the rows it deletes into the blob table. A document also
lists, as ``table``, the channels whose refs were blob-table rows when it was written, so a
reader asks the owners' rows first for the others (see :func:`row_first_keys`); that is only
where to look first, since ``prune`` may have moved an entry since. Rows written before
``table`` existed lack it, and are read by asking the blob table first.

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
Entry = tuple[str, str | None, int, Any, bool]
"""A blob, wherever stored: ``(kind, base_version, depth, payload, payload is encoded)``."""
INLINE_STR = 512
"""Full values stored in their checkpoint's row: numbers, bools and strings up to this long."""


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
    table: dict[str, None] = field(default_factory=dict)
    """The channels whose ref is a blob-table row (an ordered set)."""


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


def _small(value: Any) -> bool:
    t = type(value)
    return t is int or t is float or t is bool or (t is str and len(value) <= INLINE_STR)


def plan_blobs(
    serde: JsonPlusSerializer,
    thread_id: str,
    ns: str,
    checkpoint_id: str,
    values: Mapping[str, Any],
    versions: Mapping[str, Any],
    new_versions: Mapping[str, Any],
    head: ThreadHead | None,
) -> tuple[dict[str, str], dict[str, Any], dict[str, Any], list[BlobRow], ThreadHead]:
    """``(refs, inline values, where, blob rows to insert, the new head)`` for a put.

    ``where`` holds the document fields that say where the refs are stored: ``own`` (with
    deltas, ``bases`` and ``depths``) and ``table`` (see the module docstring).

    Channels with a value but no version (defaults no step has written) and ``None`` values
    (the edge triggers written every step) are stored inline in the checkpoint row rather
    than as blobs; deltas and small values are owned by the row (see the module docstring).
    """
    refs: dict[str, str] = {}
    inline: dict[str, Any] = {}
    own: dict[str, Any] = {}
    bases: dict[str, str] = {}
    depths: dict[str, int] = {}
    rows: list[BlobRow] = []
    lists: dict[str, ListState] = {}
    table: dict[str, None] = {}
    new_head = ThreadHead(checkpoint_id, {}, refs, lists, table)
    head_versions = new_head.versions
    old_versions, old_refs, old_lists, old_table = (
        (head.versions, head.refs, head.lists, head.table)
        if head is not None
        else (_NONE, _NONE, _NONE, _NONE)
    )
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
                if ch in old_table:
                    table[ch] = None
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
                depth = depths[ch] = prev.depth + 1
                own[ch] = value[len(prev.items) :]
                bases[ch] = prev.version
                lists[ch] = ListState(key, list(value), depth, prev.base_len)
                continue
            lists[ch] = ListState(key, list(value), 0, len(value))
        elif _small(value):
            own[ch] = value
            continue
        rows.append((thread_id, ns, ch, key, FULL, None, serde.dumps(value, channel=ch)))
        table[ch] = None
    where: dict[str, Any] = {}
    if own:
        where["own"] = own
        if bases:
            where["bases"] = bases
            where["depths"] = depths
    where["table"] = list(table)
    return refs, inline, where, rows, new_head


def owner_of(version: str) -> str:
    """The id of the checkpoint that wrote the blob ``version``."""
    return version.partition(".")[2]


def add_rows(entries: dict[BlobKey, Entry], rows: Iterable[BlobRow]) -> None:
    """Blob table rows into ``entries`` (their depth is not stored: -1)."""
    for r in rows:
        entries[(r[0], r[1], r[2], r[3])] = (r[4], r[5], -1, r[6], True)


def add_owned(entries: dict[BlobKey, Entry], thread_id: str, ns: str, doc: Any) -> None:
    """The entries a checkpoint document owns into ``entries``."""
    own = doc.get("own")
    if own:
        refs = doc["refs"]  # an owned entry is the one its checkpoint refers to
        bases = doc.get("bases") or _NONE
        depths = doc.get("depths") or _NONE
        for ch, value in own.items():
            base = bases.get(ch)
            kind = FULL if base is None else DELTA
            entries[(thread_id, ns, ch, refs[ch])] = (kind, base, depths.get(ch, 0), value, False)


def row_first_keys(thread_id: str, ns: str, doc: Any) -> list[BlobKey]:
    """Keys of ``doc``'s refs to look for in checkpoint rows first: those it does not list in
    ``table`` (none for a document without it). Includes the ones ``doc`` owns itself."""
    table = doc.get("table")
    if table is None:
        return []
    return [(thread_id, ns, ch, v) for ch, v in doc["refs"].items() if ch not in table]


def missing_keys(keys: Iterable[BlobKey], entries: Mapping[BlobKey, Entry]) -> dict[BlobKey, int]:
    """Keys needed to read ``keys`` that ``entries`` lacks, each with how deep its chain may
    still go (how many owner rows a reader could fetch in one go). A depth of 2 or more marks
    the base of a delta that is itself a delta, so a checkpoint row most likely owns it."""
    out: dict[BlobKey, int] = {}
    for key in keys:
        depth = 1
        cur: BlobKey | None = key
        while cur is not None:
            entry = entries.get(cur)
            if entry is None:
                out[cur] = max(out.get(cur, 1), depth)
                break
            base = entry[1]
            depth = entry[2]
            cur = (cur[0], cur[1], cur[2], base) if base is not None else None
    return out


class BlobReader:
    """Rebuilds channel values from blob entries, following delta chains (each decoded once)."""

    def __init__(self, serde: JsonPlusSerializer, entries: Mapping[BlobKey, Entry]) -> None:
        self.serde = serde
        self.entries = entries
        self.memo: dict[BlobKey, tuple[Any, int, int]] = {}

    def _payload(self, entry: Entry) -> Any:
        return self.serde.loads(entry[3]) if entry[4] else entry[3]

    def value(self, key: BlobKey) -> tuple[Any, int, int]:
        """``(value, depth, base_len)`` of the blob ``key``."""
        memo = self.memo
        if key in memo:
            return memo[key]
        path: list[BlobKey] = []
        cur: BlobKey | None = key
        while cur is not None and cur not in memo:
            entry = self.entries.get(cur)
            if entry is None:
                raise LookupError(
                    f"checkpoint blob {cur} is missing (deleted or pruned while in use?)"
                )
            path.append(cur)
            base = entry[1]
            if entry[0] == FULL:
                value = self._payload(entry)
                memo[cur] = (value, 0, len(value) if type(value) is list else 0)
                path.pop()
                cur = None
            else:
                cur = (cur[0], cur[1], cur[2], base) if base is not None else None
        for k in reversed(path):
            entry = self.entries[k]
            base_key = (k[0], k[1], k[2], entry[1] or "")
            base_value, depth, base_len = memo[base_key]
            memo[k] = (base_value + self._payload(entry), depth + 1, base_len)
        return memo[key]

    def values(
        self, thread_id: str, ns: str, checkpoint_id: str, refs: Mapping[str, str]
    ) -> tuple[dict[str, Any], ThreadHead]:
        """The channel values a checkpoint's refs name, and the head they make."""
        out: dict[str, Any] = {}
        head = ThreadHead(checkpoint_id, {}, dict(refs))
        entries = self.entries
        for ch, version in refs.items():
            key = (thread_id, ns, ch, version)
            value, depth, base_len = self.value(key)
            out[ch] = value
            if type(value) is list:
                head.lists[ch] = ListState(version, list(value), depth, base_len)
            if entries[key][4]:  # read from the blob table
                head.table[ch] = None
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
