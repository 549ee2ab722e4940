"""The store (``/store``): the wire as the reference answers it (``10_store_and_crons``), one
conformance suite over both storage backends, and the official ``langgraph-sdk`` against a
live server."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from relaygraph.server.storage import SqliteStorage, Storage
from relaygraph.server.storage._store_base import json_contains, matches, split_filter
from tests._pg import fresh_schema

ITEM_KEYS = {"namespace", "key", "value", "created_at", "updated_at"}


# == the wire ===========================================================================
async def test_reference_transcript(client: httpx.AsyncClient) -> None:
    put = await client.put(
        "/store/items",
        json={"namespace": ["users", "u1"], "key": "prefs", "value": {"theme": "dark"}},
    )
    assert (put.status_code, put.content) == (204, b"")
    got = await client.get("/store/items", params={"namespace": "users.u1", "key": "prefs"})
    item = got.json()
    assert got.status_code == 200 and set(item) == ITEM_KEYS
    assert item["namespace"] == ["users", "u1"] and item["value"] == {"theme": "dark"}
    assert item["created_at"].endswith("+00:00")
    # The reference reads one dotted namespace (the last when repeated): this finds nothing.
    repeated = await client.get("/store/items?namespace=users&namespace=u1&key=prefs")
    assert (repeated.status_code, repeated.json()) == (200, None)
    found = await client.post("/store/items/search", json={"namespace_prefix": ["users"]})
    assert found.json() == {"items": [{**item, "score": None}]}
    listed = await client.post("/store/namespaces", json={"prefix": ["users"]})
    assert listed.json() == {"namespaces": [["users", "u1"]]}
    gone = await client.request(
        "DELETE", "/store/items", json={"namespace": ["users", "u1"], "key": "prefs"}
    )
    assert (gone.status_code, gone.content) == (204, b"")
    missing = await client.get("/store/items", params={"namespace": "users.u1", "key": "prefs"})
    assert (missing.status_code, missing.content) == (200, b"null")


async def test_put_replaces_and_keeps_created_at(client: httpx.AsyncClient) -> None:
    body = {"namespace": ["a"], "key": "k", "value": {"v": 1}}
    await client.put("/store/items", json=body)
    first = (await client.get("/store/items", params={"namespace": "a", "key": "k"})).json()
    await client.put("/store/items", json={**body, "value": {"v": 2}, "index": False})
    second = (await client.get("/store/items", params={"namespace": "a", "key": "k"})).json()
    assert second["value"] == {"v": 2}
    assert second["created_at"] == first["created_at"] < second["updated_at"]


@pytest.mark.parametrize(
    ("namespace", "detail"),
    [
        (["a.b"], "Namespace label 'a.b' must be a non-empty string without periods"),
        (["a", ""], "Namespace label '' must be a non-empty string without periods"),
        ([], "Namespace cannot be empty."),
        (
            ["langgraph", "x"],
            "Root label for namespace cannot be \"langgraph\". Got: ('langgraph', 'x')",
        ),
    ],
)
async def test_put_rejects_bad_namespaces(
    client: httpx.AsyncClient, namespace: list[str], detail: str
) -> None:
    r = await client.put("/store/items", json={"namespace": namespace, "key": "k", "value": {}})
    assert (r.status_code, r.json()) == (422, {"detail": detail})


@pytest.mark.parametrize(
    ("method", "url", "body", "status"),
    [
        ("PUT", "/store/items", {"namespace": ["a"], "key": "k", "value": 3}, 422),
        ("PUT", "/store/items", {"namespace": ["a"], "value": {}}, 422),
        ("PUT", "/store/items", {"namespace": ["a"], "key": "k", "value": {}, "ttl": "1"}, 422),
        ("PUT", "/store/items", {"namespace": "a", "key": "k", "value": {}}, 422),
        ("DELETE", "/store/items", {"namespace": ["a"]}, 422),
        ("DELETE", "/store/items", {"namespace": ["a.b"], "key": "k"}, 422),
        ("POST", "/store/items/search", {"namespace_prefix": ["a."]}, 422),
        ("POST", "/store/items/search", {"limit": -1}, 422),
        ("POST", "/store/items/search", {"limit": "ten"}, 422),
        ("POST", "/store/items/search", {"filter": {"n": {"$near": 1}}}, 422),
        ("POST", "/store/namespaces", {"suffix": [""]}, 422),
        ("POST", "/store/namespaces", {"max_depth": 0}, 422),
        ("POST", "/store/namespaces", {"offset": -1}, 422),
    ],
)
async def test_invalid_requests(
    client: httpx.AsyncClient, method: str, url: str, body: dict[str, Any], status: int
) -> None:
    r = await client.request(method, url, json=body)
    assert r.status_code == status and "detail" in r.json()


async def test_get_needs_a_key_and_a_valid_namespace(client: httpx.AsyncClient) -> None:
    r = await client.get("/store/items", params={"namespace": "a"})
    assert (r.status_code, r.json()) == (400, {"detail": "Key is required"})
    r = await client.get("/store/items", params={"key": "k"})
    assert r.status_code == 422
    r = await client.get("/store/items", params={"namespace": "a..b", "key": "k"})
    assert r.status_code == 422


async def test_delete_of_a_missing_item_and_of_no_namespace(client: httpx.AsyncClient) -> None:
    for body in ({"namespace": ["a"], "key": "nope"}, {"key": "nope"}):
        r = await client.request("DELETE", "/store/items", json=body)
        assert r.status_code == 204


async def test_search_and_namespaces_over_http(client: httpx.AsyncClient) -> None:
    for ns, key, value in [
        (["docs", "u1"], "a", {"kind": "note", "n": 1}),
        (["docs", "u1"], "b", {"kind": "todo", "n": 2}),
        (["docs", "u2", "old"], "c", {"kind": "note", "n": 3}),
        (["docsx"], "d", {"kind": "note", "n": 4}),
    ]:
        await client.put("/store/items", json={"namespace": ns, "key": key, "value": value})
    search = await client.post(
        "/store/items/search",
        json={"namespace_prefix": ["docs"], "filter": {"kind": "note"}, "query": "ignored"},
    )
    assert [i["key"] for i in search.json()["items"]] == ["c", "a"]  # newest first
    ops = await client.post(
        "/store/items/search", json={"filter": {"n": {"$gte": 2, "$lt": 4}}, "limit": 1}
    )
    assert [i["key"] for i in ops.json()["items"]] == ["c"]
    everything = await client.post("/store/items/search", json={})
    assert len(everything.json()["items"]) == 4
    spaces = await client.post("/store/namespaces", json={"max_depth": 2})
    assert spaces.json() == {"namespaces": [["docs", "u1"], ["docs", "u2"], ["docsx"]]}
    spaces = await client.post(
        "/store/namespaces", json={"prefix": ["docs", "*"], "suffix": ["old"]}
    )
    assert spaces.json() == {"namespaces": [["docs", "u2", "old"]]}


async def test_ttl_over_http(client: httpx.AsyncClient) -> None:
    await client.put(
        "/store/items", json={"namespace": ["t"], "key": "short", "value": {}, "ttl": 0.002}
    )
    await client.put(
        "/store/items", json={"namespace": ["t"], "key": "long", "value": {}, "ttl": 5}
    )
    assert (await client.get("/store/items", params={"namespace": "t", "key": "short"})).json()
    await asyncio.sleep(0.2)
    gone = await client.get("/store/items", params={"namespace": "t", "key": "short"})
    assert gone.json() is None
    found = await client.post("/store/items/search", json={"namespace_prefix": ["t"]})
    assert [i["key"] for i in found.json()["items"]] == ["long"]
    assert (await client.post("/store/namespaces", json={})).json() == {"namespaces": [["t"]]}


# == the filter logic ====================================================================
def test_filter_semantics() -> None:
    value = {"tags": ["a", "b"], "n": 3, "flag": True, "who": {"name": "x", "age": 2}}

    def hit(f: dict[str, Any]) -> bool:
        return matches(value, *split_filter(f))

    assert hit({"tags": ["a"]}) and hit({"who": {"name": "x"}}) and hit({"n": 3.0})
    assert not hit({"tags": "a"}) and not hit({"flag": 1}) and not hit({"missing": None})
    assert hit({"n": {"$gt": 2, "$lte": 3}}) and not hit({"n": {"$gt": "2"}})
    assert hit({"missing": {"$ne": 1}}) and not hit({"missing": {"$eq": None}})
    assert hit({"who": {"$eq": {"age": 2, "name": "x"}}}) and not hit({"who": {"$eq": {"age": 2}}})
    assert json_contains([1, [2, 3]], [[3]]) and not json_contains({"a": 1}, [1])
    with pytest.raises(ValueError, match="Unsupported filter operator"):
        split_filter({"n": {"$in": [1]}})


# == the backends ========================================================================
@pytest.fixture(params=["sqlite", "postgres"])
def where(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    if request.param == "sqlite":
        yield "sqlite", str(tmp_path / "store.db")
        return
    with fresh_schema() as conninfo:
        yield "postgres", conninfo


@pytest.fixture
async def opener(where: tuple[str, str]) -> AsyncIterator[Any]:
    async with AsyncExitStack() as stack:

        async def open_storage(*, setup: bool = True) -> Storage:
            store: Storage
            if where[0] == "sqlite":
                store = SqliteStorage(where[1])
            else:
                from relaygraph.server.storage import PostgresStorage

                store = PostgresStorage(where[1], max_size=4)
            stack.push_async_callback(store.close)
            if setup:
                await store.setup()
            return store

        yield open_storage


@pytest.fixture
async def store(opener: Any) -> Storage:
    storage: Storage = await opener()
    return storage


async def test_backend_put_get_delete(store: Storage) -> None:
    assert await store.get_item(["a", "b"], "k") is None
    await store.put_item(["a", "b"], "k", {"v": 1, "nested": {"x": [1, "two"]}})
    item = await store.get_item(["a", "b"], "k")
    assert item is not None and set(item) == ITEM_KEYS
    assert item["namespace"] == ["a", "b"] and item["value"] == {
        "v": 1,
        "nested": {"x": [1, "two"]},
    }
    await store.put_item(["a", "b"], "k", {"v": 2})
    again = await store.get_item(["a", "b"], "k")
    assert again is not None and again["value"] == {"v": 2}
    assert again["created_at"] == item["created_at"] <= again["updated_at"]
    assert await store.get_item(["a"], "k") is None
    await store.delete_item(["a", "b"], "k")
    await store.delete_item(["a", "b"], "k")
    assert await store.get_item(["a", "b"], "k") is None


async def test_backend_search_prefix_order_and_paging(store: Storage) -> None:
    for i, ns in enumerate([["a", "b"], ["a", "bc"], ["a", "b", "c"], ["a"], ["z"]]):
        await store.put_item(ns, f"k{i}", {"i": i})
    keys = [i["key"] for i in await store.search_items(["a", "b"])]
    assert keys == ["k2", "k0"]  # not "a.bc"; last updated first
    assert [i["key"] for i in await store.search_items(["a"])] == ["k3", "k2", "k1", "k0"]
    assert [i["key"] for i in await store.search_items([], limit=2, offset=1)] == ["k3", "k2"]
    assert await store.search_items(["a"], limit=0) == []
    await store.put_item(["a", "b"], "k0", {"i": 0})  # touched: now the newest
    assert [i["key"] for i in await store.search_items(["a", "b"])] == ["k0", "k2"]


async def test_backend_filters(store: Storage) -> None:
    rows = [
        {"kind": "note", "n": 1, "tags": ["x", "y"], "who": {"name": "ann", "age": 30}},
        {"kind": "todo", "n": 2, "tags": ["y"], "flag": True},
        {"kind": "note", "n": 3.5, "tags": [], "flag": 1},
        {"kind": "note", "n": "4", "who": None},
    ]
    for i, value in enumerate(rows):
        await store.put_item(["f"], f"k{i}", value)

    async def keys(filter: dict[str, Any]) -> list[str]:
        return sorted(i["key"] for i in await store.search_items(["f"], filter=filter))

    assert await keys({"kind": "note"}) == ["k0", "k2", "k3"]
    assert await keys({"tags": ["y"]}) == ["k0", "k1"]
    assert await keys({"who": {"name": "ann"}}) == ["k0"]
    assert await keys({"flag": True}) == ["k1"]
    assert await keys({"flag": 1}) == ["k2"]
    assert await keys({"who": None}) == ["k3"]
    assert await keys({"kind": "note", "n": 1}) == ["k0"]
    assert await keys({"n": {"$gt": 1}}) == ["k1", "k2"]
    assert await keys({"n": {"$gte": 1, "$lt": 3.5}}) == ["k0", "k1"]
    assert await keys({"n": {"$lte": "4"}}) == ["k3"]
    assert await keys({"n": {"$eq": 2}}) == ["k1"]
    assert await keys({"flag": {"$ne": True}}) == ["k0", "k2", "k3"]
    assert await keys({"who": {"$eq": {"name": "ann"}}}) == []
    assert await keys({"kind": "note", "n": {"$ne": 1}}) == ["k2", "k3"]


async def test_backend_ttl_refresh_and_sweep(store: Storage) -> None:
    t0 = 1_000_000.0
    await store.put_item(["t"], "a", {"v": 1}, ttl_minutes=1, now=t0)
    await store.put_item(["t"], "b", {"v": 2}, ttl_minutes=1, now=t0)
    await store.put_item(["t"], "forever", {"v": 3}, now=t0)
    assert await store.get_item(["t"], "a", now=t0 + 59) is not None  # refreshed to t0+119
    assert await store.get_item(["t"], "a", refresh=False, now=t0 + 100) is not None
    assert await store.get_item(["t"], "b", now=t0 + 61) is None
    found = await store.search_items(["t"], now=t0 + 110)  # refreshes "a" to t0+170
    assert sorted(i["key"] for i in found) == ["a", "forever"]
    await store.search_items(["t"], refresh=False, now=t0 + 165)
    assert await store.get_item(["t"], "a", refresh=False, now=t0 + 169) is not None
    assert await store.list_namespaces(now=t0 + 1e9) == [["t"]]
    assert await store.sweep_items(now=t0 + 1e9) == 2
    assert await store.get_item(["t"], "forever", now=t0 + 1e9) is not None


async def test_backend_expired_item_put_again_is_new(store: Storage) -> None:
    await store.put_item(["t"], "a", {"v": 1}, ttl_minutes=1, now=1_000.0)
    old = await store.get_item(["t"], "a", now=1_000.0)
    await asyncio.sleep(0.01)
    await store.put_item(["t"], "a", {"v": 2}, now=2_000.0)
    new = await store.get_item(["t"], "a", now=2_000.0)
    assert old is not None and new is not None and new["created_at"] > old["created_at"]


async def test_backend_list_namespaces(store: Storage) -> None:
    for ns in [["a", "b", "c"], ["a", "b", "d"], ["a", "x"], ["b", "b"], ["a", "b", "c"]]:
        await store.put_item(ns, ns[-1] + str(len(ns)), {})
    assert await store.list_namespaces() == [
        ["a", "b", "c"],
        ["a", "b", "d"],
        ["a", "x"],
        ["b", "b"],
    ]
    assert await store.list_namespaces(prefix=["a", "b"]) == [["a", "b", "c"], ["a", "b", "d"]]
    assert await store.list_namespaces(suffix=["b"]) == [["b", "b"]]
    assert await store.list_namespaces(prefix=["*", "b"]) == [
        ["a", "b", "c"],
        ["a", "b", "d"],
        ["b", "b"],
    ]
    assert await store.list_namespaces(max_depth=1) == [["a"], ["b"]]
    assert await store.list_namespaces(prefix=["a"], max_depth=2) == [["a", "b"], ["a", "x"]]
    assert await store.list_namespaces(limit=2, offset=1) == [["a", "b", "d"], ["a", "x"]]


async def test_backend_store_is_durable_and_setup_is_concurrent(opener: Any) -> None:
    stores = [await opener(setup=False) for _ in range(3)]
    await asyncio.gather(*(s.setup() for s in stores))
    await stores[0].put_item(["d"], "k", {"v": 1})
    await stores[0].close()
    reopened = await opener()
    item = await reopened.get_item(["d"], "k")
    assert item is not None and item["value"] == {"v": 1}


# == the official SDK, and ours, on a live server ===========================================
@pytest.fixture(params=["langgraph_sdk", "relaygraph"])
async def sdk(request: pytest.FixtureRequest, live_url: str) -> AsyncIterator[Any]:
    from relaygraph.client import get_client as our_client

    make = get_client if request.param == "langgraph_sdk" else our_client
    client = make(url=live_url, api_key=None)
    yield client
    await client.aclose()


async def test_sdk_store(sdk: Any) -> None:
    ns = ["sdk", uuid.uuid4().hex]
    await sdk.store.put_item(ns, "prefs", {"theme": "dark", "n": 1})
    await sdk.store.put_item(ns, "other", {"theme": "light", "n": 2}, ttl=10)
    other = ["sdk", uuid.uuid4().hex]
    await sdk.store.put_item(other, "prefs", {"theme": "dark", "n": 3}, index=False)
    item = await sdk.store.get_item(ns, "prefs", refresh_ttl=False)
    assert item["value"] == {"theme": "dark", "n": 1} and item["namespace"] == ns
    assert await sdk.store.get_item(ns, "nope") is None
    found = await sdk.store.search_items(["sdk"], filter={"theme": "dark"}, limit=2)
    assert [(i["namespace"], i["key"]) for i in found["items"]] == [(other, "prefs"), (ns, "prefs")]
    assert all(i["score"] is None for i in found["items"])
    paged = await sdk.store.search_items(ns, limit=1, offset=1, query="dark things")
    assert [i["key"] for i in paged["items"]] == ["prefs"]
    spaces = await sdk.store.list_namespaces(prefix=["sdk"], max_depth=2)
    assert ns in spaces["namespaces"] and other in spaces["namespaces"]
    await sdk.store.delete_item(ns, "prefs")
    assert await sdk.store.get_item(ns, "prefs") is None
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await sdk.store.put_item(["sdk", ""], "k", {})
    assert caught.value.response.status_code == 422
