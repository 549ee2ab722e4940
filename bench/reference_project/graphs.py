"""The graphs ``bench_server.py`` runs, written against LangGraph, for ``langgraph dev``.

``agent`` is ``examples/agent_project``'s graph of that name; ``firehose`` is the one the
bench writes for relaygraph. Start the reference server with this project:

    /work/refapi/bin/langgraph dev --config bench/reference_project/langgraph.json --no-browser
"""

from __future__ import annotations

from langgraph.config import get_stream_writer
from langgraph.graph import START, StateGraph
from typing_extensions import TypedDict


class JokeState(TypedDict, total=False):
    topic: str
    joke: str


def refine_topic(state: JokeState) -> JokeState:
    return {"topic": state["topic"] + " and cats"}


def generate_joke(state: JokeState) -> JokeState:
    return {"joke": f"This is a joke about {state['topic']}"}


agent = (
    StateGraph(JokeState)
    .add_node(refine_topic)
    .add_node(generate_joke)
    .add_edge(START, "refine_topic")
    .add_edge("refine_topic", "generate_joke")
    .compile()
)


class FireState(TypedDict, total=False):
    n: int


def fire(state: FireState) -> FireState:
    write = get_stream_writer()
    for i in range(state["n"]):
        write(i)
    return {}


firehose = StateGraph(FireState).add_node(fire).add_edge(START, "fire").compile()
