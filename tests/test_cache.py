"""Node caching: ``CachePolicy`` on a node plus ``compile(cache=InMemoryCache())``.

Checks the cache itself (get/set/clear, TTLs, copies, threads, async faces) and what a run
does with it: a hit skips the node and its routing function, the updates chunk is flagged
``__metadata__: {"cached": True}``, no task result is emitted, and failed or interrupted
tasks are never stored. Graph-level tests run sync and async through the ``runner`` fixture.
"""

from __future__ import annotations

import asyncio
import operator
import threading
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypedDict

import pytest

import relaygraph.cache.memory as memory_module
from relaygraph.cache.base import BaseCache, FullKey, Namespace
from relaygraph.cache.memory import InMemoryCache
from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import END, START, StateGraph
from relaygraph.types import CachePolicy, Send, interrupt
from tests.conftest import REFERENCE_RUN

NS: Namespace = ("ns", "a")


class State(TypedDict, total=False):
    log: Annotated[list, operator.add]
    x: str


class Clock:
    """A stand-in for ``time.time`` that tests move forward by hand (patches relaygraph's
    cache module, so tests using it are skipped on reference runs)."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    if REFERENCE_RUN:
        pytest.skip("patches relaygraph's cache clock")
    c = Clock()
    monkeypatch.setattr(memory_module.time, "time", c)
    return c


# ---------------------------------------------------------------------------------------------
# InMemoryCache
# ---------------------------------------------------------------------------------------------


def test_get_returns_only_present_keys() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    cache.set({(NS, "k"): ({"v": 1}, None), (("other",), "k2"): ([1, 2], None)})

    found = cache.get([(NS, "k"), (("other",), "k2"), (("missing",), "k")])

    assert found == {(NS, "k"): {"v": 1}, (("other",), "k2"): [1, 2]}
    assert cache.get([]) == {}


def test_ttl_expires_entries(clock: Clock) -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    cache.set({(NS, "short"): ("s", 10), (NS, "forever"): ("f", None)})

    clock.now += 9.9
    assert cache.get([(NS, "short"), (NS, "forever")]) == {(NS, "short"): "s", (NS, "forever"): "f"}
    clock.now += 0.2
    assert cache.get([(NS, "short"), (NS, "forever")]) == {(NS, "forever"): "f"}


def test_clear_by_namespace_and_all() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    cache.set({(("a",), "1"): (1, None), (("b",), "2"): (2, None), (("c",), "3"): (3, None)})

    cache.clear([("a",), ("not-there",)])
    assert cache.get([(("a",), "1"), (("b",), "2")]) == {(("b",), "2"): 2}
    cache.clear()
    assert cache.get([(("b",), "2"), (("c",), "3")]) == {}


def test_values_are_copies() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    value = {"items": [1]}
    cache.set({(NS, "k"): (value, None)})
    value["items"].append(2)

    first = cache.get([(NS, "k")])[(NS, "k")]
    first["items"].append(3)

    assert cache.get([(NS, "k")])[(NS, "k")] == {"items": [1]}


@pytest.mark.divergence  # the reference's serializer raises TypeError for such values
def test_unpicklable_values_are_kept_as_objects() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    fn = lambda: 42  # noqa: E731 - a lambda cannot be pickled
    cache.set({(NS, "fn"): (fn, None)})

    assert cache.get([(NS, "fn")])[(NS, "fn")] is fn


def test_async_faces() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()

    async def scenario() -> tuple[Any, Any]:
        await cache.aset({(NS, "k"): ("v", None)})
        got = await cache.aget([(NS, "k")])
        await cache.aclear([NS])
        return got, await cache.aget([(NS, "k")])

    assert asyncio.run(scenario()) == ({(NS, "k"): "v"}, {})


def test_concurrent_writers_and_readers() -> None:
    cache: InMemoryCache[Any] = InMemoryCache()
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(200):
                cache.set({((f"t{i}",), str(j)): (j, None)})
                assert cache.get([((f"t{i}",), str(j))]) == {((f"t{i}",), str(j)): j}
                if j % 50 == 0:
                    cache.clear([(f"t{(i + 1) % 8}",)])
        except BaseException as e:  # pragma: no cover - only on failure
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []


# ---------------------------------------------------------------------------------------------
# Caching nodes in a run
# ---------------------------------------------------------------------------------------------


def _cached_graph(calls: dict[str, int], **policy: Any) -> Any:
    def slow(state: State) -> dict[str, Any]:
        calls["slow"] += 1
        return {"log": [f"slow#{calls['slow']}"]}

    def route(state: State) -> str:
        calls["route"] += 1
        return "after"

    builder = StateGraph(State)
    builder.add_node("slow", slow, cache_policy=CachePolicy(**policy))
    builder.add_node("after", lambda state: {"log": ["after"]})
    builder.add_edge(START, "slow")
    builder.add_conditional_edges("slow", route, ["after", END])
    return builder.compile(cache=InMemoryCache())


def test_hit_skips_node_and_its_routing(runner: Any) -> None:
    calls = {"slow": 0, "route": 0}
    graph = _cached_graph(calls)

    first = runner.invoke(graph, {"log": []})
    second = runner.stream(graph, {"log": []}, stream_mode="updates")

    assert first == {"log": ["slow#1", "after"]}
    assert second == [
        {"slow": {"log": ["slow#1"]}, "__metadata__": {"cached": True}},
        {"after": {"log": ["after"]}},
    ]
    assert list(second[0]) == ["slow", "__metadata__"]
    assert calls == {"slow": 1, "route": 1}


def test_other_input_misses(runner: Any) -> None:
    calls = {"slow": 0, "route": 0}
    graph = _cached_graph(calls)

    runner.invoke(graph, {"log": []})
    out = runner.invoke(graph, {"log": ["other"]})

    assert out == {"log": ["other", "slow#2", "after"]}
    assert calls["slow"] == 2


def test_equal_nested_inputs_hit() -> None:
    calls = {"n": 0}

    class Nested(TypedDict, total=False):
        a: dict[str, list[int]]
        out: int

    def node(state: Nested) -> dict[str, Any]:
        calls["n"] += 1
        return {"out": sum(sum(v) for v in state["a"].values())}

    builder = StateGraph(Nested)
    builder.add_node("node", node, cache_policy=CachePolicy())
    builder.add_edge(START, "node")
    graph = builder.compile(cache=InMemoryCache())

    graph.invoke({"a": {"x": [1, 2], "y": [3]}})
    assert graph.invoke({"a": {"x": [1, 2], "y": [3]}}) == {"a": {"x": [1, 2], "y": [3]}, "out": 6}
    assert calls["n"] == 1


def test_key_func_decides_the_key(runner: Any) -> None:
    calls = {"slow": 0, "route": 0}
    graph = _cached_graph(calls, key_func=lambda state: "always the same")

    runner.invoke(graph, {"log": ["one"]})
    out = runner.invoke(graph, {"log": ["two"]})

    assert out == {"log": ["two", "slow#1", "after"]}
    assert calls["slow"] == 1


def test_ttl_expiry_reruns_the_node(runner: Any, clock: Clock) -> None:
    calls = {"slow": 0, "route": 0}
    graph = _cached_graph(calls, ttl=5)

    runner.invoke(graph, {"log": []})
    runner.invoke(graph, {"log": []})
    assert calls["slow"] == 1
    clock.now += 6
    runner.invoke(graph, {"log": []})
    assert calls["slow"] == 2


def test_tasks_mode_starts_cached_task_without_result(runner: Any) -> None:
    calls = {"slow": 0, "route": 0}
    graph = _cached_graph(calls)
    runner.invoke(graph, {"log": []})

    events = runner.stream(graph, {"log": []}, stream_mode="tasks")

    names = [(e["name"], "result" in e) for e in events]
    assert names == [("slow", False), ("after", False), ("after", True)]


def test_failed_task_is_not_cached(runner: Any) -> None:
    calls = {"n": 0}

    def flaky(state: State) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("first call fails")
        return {"x": "ok"}

    builder = StateGraph(State)
    builder.add_node("flaky", flaky, cache_policy=CachePolicy())
    builder.add_edge(START, "flaky")
    graph = builder.compile(cache=InMemoryCache())

    with pytest.raises(ValueError, match="first call fails"):
        runner.invoke(graph, {"log": []})
    assert runner.invoke(graph, {"log": []}) == {"log": [], "x": "ok"}
    assert runner.invoke(graph, {"log": []}) == {"log": [], "x": "ok"}
    assert calls["n"] == 2


def test_interrupted_task_is_not_cached(runner: Any) -> None:
    calls = {"n": 0}

    def ask(state: State) -> dict[str, Any]:
        calls["n"] += 1
        return {"x": interrupt("why?")}

    builder = StateGraph(State)
    builder.add_node("ask", ask, cache_policy=CachePolicy())
    builder.add_edge(START, "ask")
    graph = builder.compile(checkpointer=InMemorySaver(), cache=InMemoryCache())

    runner.invoke(graph, {"log": []}, {"configurable": {"thread_id": "1"}})
    out = runner.invoke(graph, {"log": []}, {"configurable": {"thread_id": "2"}})

    assert "__interrupt__" in out
    assert calls["n"] == 2


def test_send_tasks_are_keyed_by_their_argument(runner: Any) -> None:
    calls: list[str] = []

    def work(arg: dict[str, str]) -> dict[str, Any]:
        calls.append(arg["x"])
        return {"log": [arg["x"].upper()]}

    builder = StateGraph(State)
    builder.add_node("work", work, cache_policy=CachePolicy())
    builder.add_conditional_edges(
        START, lambda s: [Send("work", {"x": "a"}), Send("work", {"x": "b"})]
    )
    graph = builder.compile(cache=InMemoryCache())

    runner.invoke(graph, {"log": []})
    out = runner.invoke(graph, {"log": []})

    assert out == {"log": ["A", "B"]}
    assert sorted(calls) == ["a", "b"]


def test_policy_without_a_cache_runs_every_time(runner: Any) -> None:
    calls = {"n": 0}

    def node(state: State) -> dict[str, Any]:
        calls["n"] += 1
        return {"x": "v"}

    builder = StateGraph(State)
    builder.add_node("node", node, cache_policy=CachePolicy())
    builder.add_edge(START, "node")
    graph = builder.compile()

    runner.invoke(graph, {"log": []})
    runner.invoke(graph, {"log": []})
    assert calls["n"] == 2


def test_subgraph_does_not_use_the_parent_cache(runner: Any) -> None:
    calls = {"n": 0}

    def inner(state: State) -> dict[str, Any]:
        calls["n"] += 1
        return {"x": "sub"}

    sub = StateGraph(State)
    sub.add_node("inner", inner, cache_policy=CachePolicy())
    sub.add_edge(START, "inner")
    parent = StateGraph(State)
    parent.add_node("sub", sub.compile())
    parent.add_edge(START, "sub")
    graph = parent.compile(cache=InMemoryCache())

    runner.invoke(graph, {"log": []})
    runner.invoke(graph, {"log": []})
    assert calls["n"] == 2


def test_clear_cache(runner: Any) -> None:
    calls = {"slow": 0, "route": 0}
    graph = _cached_graph(calls)
    runner.invoke(graph, {"log": []})

    graph.clear_cache(["after"])  # another node: the entry stays
    runner.invoke(graph, {"log": []})
    assert calls["slow"] == 1
    graph.clear_cache()
    runner.invoke(graph, {"log": []})
    assert calls["slow"] == 2
    asyncio.run(graph.aclear_cache(["slow"]))
    runner.invoke(graph, {"log": []})
    assert calls["slow"] == 3


def test_clear_cache_without_a_cache_raises() -> None:
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": "a"})
    builder.add_edge(START, "a")
    graph = builder.compile()

    with pytest.raises(ValueError, match="No cache is set for this graph"):
        graph.clear_cache()
    with pytest.raises(ValueError, match="No cache is set for this graph"):
        asyncio.run(graph.aclear_cache())


class RecordingCache(BaseCache[Any]):
    """A cache that records which face the engine used."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[FullKey, Any] = {}
        self.calls: list[str] = []

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        self.calls.append("get")
        return {k: self.data[k] for k in keys if k in self.data}

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        self.calls.append("aget")
        return {k: self.data[k] for k in keys if k in self.data}

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        self.calls.append("set")
        self.data.update({k: v for k, (v, _) in pairs.items()})

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        self.calls.append("aset")
        self.data.update({k: v for k, (v, _) in pairs.items()})

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.calls.append("clear")

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        self.calls.append("aclear")


def test_custom_cache_gets_the_face_of_the_run(runner: Any) -> None:
    cache = RecordingCache()
    builder = StateGraph(State)
    builder.add_node("a", lambda s: {"x": "a"}, cache_policy=CachePolicy(ttl=3))
    builder.add_edge(START, "a")
    graph = builder.compile(cache=cache)

    runner.invoke(graph, {"log": []})
    runner.invoke(graph, {"log": []})

    if runner.kind == "sync":
        assert cache.calls == ["get", "set", "get"]
    else:
        assert cache.calls == ["aget", "aset", "aget"]
    ((ns, key),) = cache.data
    assert ns[0] == "__pregel_ns_writes" and ns[-1] == "a"
    assert isinstance(key, str) and len(key) == 32
