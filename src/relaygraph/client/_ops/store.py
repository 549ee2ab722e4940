"""``/store``: long-term memory items, by namespace and key."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from relaygraph.client._protocol import Op, QueryParams, body, call_json, query
from relaygraph.client._schema import Item

Headers = Mapping[str, str] | None
Params = QueryParams | None


def put_item(
    namespace: Sequence[str],
    /,
    key: str,
    value: Mapping[str, Any],
    index: Literal[False] | list[str] | None = None,
    ttl: int | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[None]:
    """Store ``value`` under ``namespace``/``key`` (``PUT /store/items``)."""
    payload = body({"namespace": list(namespace), "key": key, "value": value}, index=index, ttl=ttl)
    yield from call_json("PUT", "/store/items", json=payload, params=params, headers=headers)


def get_item(
    namespace: Sequence[str],
    /,
    key: str,
    *,
    refresh_ttl: bool | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[Item | None]:
    """The item at ``namespace``/``key``, or ``None`` if there is none."""
    own = {"namespace": ".".join(namespace), "key": key, "refresh_ttl": refresh_ttl}
    return call_json("GET", "/store/items", params=query(own, params), headers=headers)


def delete_item(
    namespace: Sequence[str], /, key: str, headers: Headers = None, params: Params = None
) -> Op[None]:
    """Delete the item at ``namespace``/``key``."""
    payload = {"namespace": list(namespace), "key": key}
    return call_json("DELETE", "/store/items", json=payload, params=params, headers=headers)


def search_items(
    namespace_prefix: Sequence[str],
    /,
    filter: Mapping[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
    query: str | None = None,
    refresh_ttl: bool | None = None,
    headers: Headers = None,
    params: Params = None,
) -> Op[dict[str, list[Item]]]:
    """Items under ``namespace_prefix``, filtered by value and/or a search ``query``."""
    payload = body(
        {"namespace_prefix": list(namespace_prefix), "limit": limit, "offset": offset},
        filter=filter,
        query=query,
        refresh_ttl=refresh_ttl,
    )
    return call_json("POST", "/store/items/search", json=payload, params=params, headers=headers)


def list_namespaces(
    prefix: list[str] | None = None,
    suffix: list[str] | None = None,
    max_depth: int | None = None,
    limit: int = 100,
    offset: int = 0,
    *,
    headers: Headers = None,
    params: Params = None,
) -> Op[dict[str, list[list[str]]]]:
    """The namespaces in the store, optionally under ``prefix``/over ``suffix``."""
    payload = body(
        {"limit": limit, "offset": offset}, prefix=prefix, suffix=suffix, max_depth=max_depth
    )
    return call_json("POST", "/store/namespaces", json=payload, params=params, headers=headers)
