"""The store interface (``/store``: long-term memory items by namespace and key) and the pure
logic its backends share.

A namespace is kept as one text column, its labels joined by ``"."`` (labels never contain
one), so ``("users", "u1")`` is ``"users.u1"`` and the items under a prefix are the key range
``[prefix + ".", prefix + "/")`` (``"/"`` follows ``"."``) plus the prefix itself: one index
serves both exact lookups and prefix scans, under byte-order collation.

An item with a TTL (minutes) stores ``expires_at`` (epoch seconds); an expired item is absent
to every read, and a read may push its expiry back (``refresh``). ``sweep_items`` deletes the
expired rows; backends run it now and then from ``put_item``.

A search ``filter`` maps top-level value fields to a value the field must *contain* (JSON
containment, as PostgreSQL's ``@>``: ``{"tags": ["a"]}`` matches ``{"tags": ["a", "b"]}``), or
to an operator object: ``{"$eq" | "$ne" | "$gt" | "$gte" | "$lt" | "$lte": value}``. Order
operators compare numbers with numbers and strings with strings; anything else does not match.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Sequence
from typing import Any

from relaygraph.server.storage._params import enc

__all__ = [
    "OPERATORS",
    "StoreStorage",
    "json_contains",
    "matches",
    "namespace_range",
    "select_namespaces",
    "split_filter",
]

Item = dict[str, Any]
"""``{"namespace": [...], "key", "value", "created_at", "updated_at"}``."""

OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte")
SWEEP_EVERY_S = 60.0
"""How often ``put_item`` also deletes expired items."""


class StoreStorage(abc.ABC):
    """Long-term memory items. Every method that reads takes ``now`` (epoch seconds; the
    clock when ``None``) to decide expiry."""

    _store_swept_at = 0.0

    @abc.abstractmethod
    async def setup_store(self) -> None:
        """Create the store's tables (idempotent; safe from concurrent processes)."""

    @abc.abstractmethod
    async def put_item(
        self,
        namespace: Sequence[str],
        key: str,
        value: dict[str, Any],
        *,
        ttl_minutes: float | None = None,
        now: float | None = None,
    ) -> None:
        """Insert or replace an item (an expired one is replaced as new)."""

    @abc.abstractmethod
    async def get_item(
        self, namespace: Sequence[str], key: str, *, refresh: bool = True, now: float | None = None
    ) -> Item | None:
        """The live item, its TTL restarted first when ``refresh``."""

    @abc.abstractmethod
    async def delete_item(self, namespace: Sequence[str], key: str) -> None: ...

    @abc.abstractmethod
    async def search_items(
        self,
        prefix: Sequence[str],
        *,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
        refresh: bool = True,
        now: float | None = None,
    ) -> list[Item]:
        """Live items under ``prefix`` matching ``filter``, last updated first (then by
        namespace and key); the TTLs of those returned restart when ``refresh``."""

    @abc.abstractmethod
    async def list_namespaces(
        self,
        *,
        prefix: Sequence[str] | None = None,
        suffix: Sequence[str] | None = None,
        max_depth: int | None = None,
        limit: int = 100,
        offset: int = 0,
        now: float | None = None,
    ) -> list[list[str]]:
        """Distinct namespaces of live items (see ``select_namespaces``)."""

    @abc.abstractmethod
    async def sweep_items(self, now: float | None = None) -> int:
        """Delete expired items; returns how many."""

    async def _maybe_sweep(self, now: float) -> None:
        if now - self._store_swept_at >= SWEEP_EVERY_S:
            self._store_swept_at = now
            await self.sweep_items(now)


def item(namespace: str, key: str, value: Any, created_at: str, updated_at: str) -> Item:
    """An item as the API returns it, from its stored columns (``value`` decoded)."""
    return {
        "namespace": split_namespace(namespace),
        "key": key,
        "value": value,
        "created_at": created_at,
        "updated_at": updated_at,
    }


def search_params(
    prefix: Sequence[str], filter: dict[str, Any] | None, limit: int, offset: int, now: float
) -> dict[str, Any]:
    """The parameters of the ``store_search`` statement (both backends)."""
    plain, conditions = split_filter(filter)
    return {
        **namespace_range(prefix),
        "plain": enc(plain),
        "conditions": enc(conditions),
        "limit": limit,
        "offset": offset,
        "now": now,
    }


def clock(now: float | None) -> float:
    return time.time() if now is None else now


def join_namespace(namespace: Sequence[str]) -> str:
    return ".".join(namespace)


def split_namespace(text: str) -> list[str]:
    return text.split(".") if text else []


def namespace_range(prefix: Sequence[str] | None) -> dict[str, str | None]:
    """Query parameters selecting the namespaces under ``prefix`` (all when empty):
    ``prefix`` itself, or ``lo <= namespace < hi``."""
    if not prefix:
        return {"prefix": None, "lo": None, "hi": None}
    joined = join_namespace(prefix)
    return {"prefix": joined, "lo": joined + ".", "hi": joined + "/"}


def literal_head(labels: Sequence[str] | None) -> list[str]:
    """The labels before the first ``"*"`` wildcard."""
    head: list[str] = []
    for label in labels or ():
        if label == "*":
            break
        head.append(label)
    return head


def _labels_match(labels: Sequence[str], pattern: Sequence[str]) -> bool:
    return len(labels) == len(pattern) and all(
        p == "*" or p == label for label, p in zip(labels, pattern, strict=True)
    )


def select_namespaces(
    namespaces: Sequence[Sequence[str]],
    *,
    prefix: Sequence[str] | None,
    suffix: Sequence[str] | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> list[list[str]]:
    """The namespaces that start with ``prefix`` and end with ``suffix`` (``"*"`` matches any
    one label), cut to ``max_depth`` labels, distinct, sorted, then paged."""
    chosen: set[tuple[str, ...]] = set()
    for ns in namespaces:
        if prefix and not _labels_match(ns[: len(prefix)], prefix):
            continue
        if suffix and not _labels_match(ns[len(ns) - len(suffix) :], suffix):
            continue
        chosen.add(tuple(ns[:max_depth] if max_depth is not None else ns))
    return [list(ns) for ns in sorted(chosen)[offset : offset + limit]]


def split_filter(
    filter: dict[str, Any] | None,
) -> tuple[dict[str, Any] | None, list[list[Any]] | None]:
    """``(containment, conditions)``: the plain fields, and ``[field, op, value]`` for each
    operator. ``ValueError`` names an unknown operator."""
    if not filter:
        return None, None
    plain: dict[str, Any] = {}
    conditions: list[list[Any]] = []
    for field, wanted in filter.items():
        if isinstance(wanted, dict) and wanted and all(str(k).startswith("$") for k in wanted):
            for op, operand in wanted.items():
                if op not in OPERATORS:
                    raise ValueError(
                        f"Unsupported filter operator {op!r}; expected one of {', '.join(OPERATORS)}"
                    )
                conditions.append([field, op, operand])
        else:
            plain[field] = wanted
    return plain or None, conditions or None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values (``true`` is not ``1``)."""
    kind = _kind(a)
    if kind != _kind(b):
        return False
    if kind == "array":
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if kind == "object":
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return bool(a == b)


def json_contains(doc: Any, subset: Any) -> bool:
    """PostgreSQL's ``doc @> subset`` below the top level: objects contain objects key by key,
    arrays contain arrays element by element (in any order), scalars are equal."""
    if _kind(subset) == "object":
        return _kind(doc) == "object" and all(
            k in doc and json_contains(doc[k], v) for k, v in subset.items()
        )
    if _kind(subset) == "array":
        return _kind(doc) == "array" and all(any(json_contains(d, s) for d in doc) for s in subset)
    return json_equal(doc, subset)


def _condition(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return value is not _MISSING and json_equal(value, operand)
    if op == "$ne":
        return value is _MISSING or not json_equal(value, operand)
    kind = _kind(operand)
    if value is _MISSING or kind not in ("number", "string") or _kind(value) != kind:
        return False
    if op == "$gt":
        return bool(value > operand)
    if op == "$gte":
        return bool(value >= operand)
    if op == "$lt":
        return bool(value < operand)
    return bool(value <= operand)


_MISSING: Any = object()


def matches(
    value: dict[str, Any], plain: dict[str, Any] | None, conditions: list[list[Any]] | None
) -> bool:
    """Whether an item's ``value`` passes a filter split by ``split_filter``."""
    if plain is not None and not json_contains(value, plain):
        return False
    return all(_condition(value.get(f, _MISSING), op, x) for f, op, x in conditions or ())
