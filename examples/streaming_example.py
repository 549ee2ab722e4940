"""Streaming a relaygraph run: state updates, full values, custom progress, subgraphs.

    python examples/streaming_example.py

Plain Python nodes, no LLM: the point is what ``stream()`` reports and when.
"""

from __future__ import annotations

import time
from typing import Any, TypedDict

from relaygraph.config import get_stream_writer
from relaygraph.graph import END, START, StateGraph

# -- a two-node graph ------------------------------------------------------------------------


class JokeState(TypedDict):
    topic: str
    joke: str


def refine_topic(state: JokeState) -> dict[str, Any]:
    return {"topic": state["topic"] + " and cats"}


def generate_joke(state: JokeState) -> dict[str, Any]:
    return {"joke": f"This is a joke about {state['topic']}"}


joke_graph = (
    StateGraph(JokeState)
    .add_node(refine_topic)
    .add_node(generate_joke)
    .add_edge(START, "refine_topic")
    .add_edge("refine_topic", "generate_joke")
    .add_edge("generate_joke", END)
    .compile()
)

# -- a node that reports its own progress ----------------------------------------------------


class RecordsState(TypedDict, total=False):
    query: str
    records: list[int]
    summary: str


def fetch_records(state: RecordsState) -> dict[str, Any]:
    writer = get_stream_writer()  # emits "custom" chunks; a no-op if nobody listens
    records: list[int] = []
    for batch in range(10):
        records.extend(range(batch * 10, batch * 10 + 10))
        time.sleep(0.01)  # pretend to wait on a database
        writer(f"Fetched {len(records)}/100 records")
    return {"records": records}


def summarize(state: RecordsState) -> dict[str, Any]:
    return {"summary": f"{len(state['records'])} records for {state['query']!r}"}


records_graph = (
    StateGraph(RecordsState)
    .add_node(fetch_records)
    .add_node(summarize)
    .add_edge(START, "fetch_records")
    .add_edge("fetch_records", "summarize")
    .add_edge("summarize", END)
    .compile()
)

# -- a parent graph that runs records_graph as one of its nodes ------------------------------


def publish(state: RecordsState) -> dict[str, Any]:
    return {"summary": state["summary"] + " (published)"}


parent_graph = (
    StateGraph(RecordsState)
    .add_node("research", records_graph)  # a compiled graph is a node like any other
    .add_node(publish)
    .add_edge(START, "research")
    .add_edge("research", "publish")
    .add_edge("publish", END)
    .compile()
)


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 72 - len(title)))


def where(namespace: tuple[str, ...]) -> str:
    """``()`` is the parent graph; ``("research:<task id>",)`` a subgraph run by node research."""
    return " > ".join(part.split(":")[0] for part in namespace) or "(parent)"


def brief(update: dict[str, Any]) -> dict[str, Any]:
    """The update with long lists shown by their length."""
    return {
        node: {
            k: f"<{len(v)} items>" if isinstance(v, list) and len(v) > 5 else v
            for k, v in (writes or {}).items()
        }
        for node, writes in update.items()
    }


def main() -> None:
    section('stream_mode="updates": what each node wrote')
    for update in joke_graph.stream({"topic": "ice cream"}, stream_mode="updates"):
        print(" ", update)

    section('stream_mode="values": the whole state after each step')
    for state in joke_graph.stream({"topic": "ice cream"}, stream_mode="values"):
        print(" ", state)

    section('stream_mode=["updates", "custom"]: (mode, chunk) pairs')
    for mode, chunk in records_graph.stream({"query": "cats"}, stream_mode=["updates", "custom"]):
        if mode == "custom":
            print(f"  {mode:<8} {chunk}")
        else:  # shorten the 100-record list
            print(f"  {mode:<8} {brief(chunk)}")

    section("subgraphs=True: (namespace, chunk) pairs, from inside subgraphs too")
    for namespace, update in parent_graph.stream(
        {"query": "cats"}, stream_mode="updates", subgraphs=True
    ):
        print(f"  {where(namespace):<10} {brief(update)}")


if __name__ == "__main__":
    main()
