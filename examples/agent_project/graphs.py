"""Example graphs served by ``relaygraph dev`` (no network needed: the chat model is fake).

* ``agent``: refine_topic → generate_joke (``{"topic": "ice cream"}``)
* ``subgraph``: node_1 → node_2 (a compiled subgraph) (``{"foo": "foo"}``)
* ``chat``: one call to a fake chat model that streams "Hello there from the fake model"
* ``custom``: custom stream items, then a slow node (``{"n": 3, "sleep": 1}``)
* ``hitl``: asks for approval with ``interrupt()`` (resume with ``{"command": {"resume": ...}}``)
* ``boom``: raises ``ValueError``
"""

from __future__ import annotations

import asyncio
import itertools
import operator
from typing import Annotated

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from typing_extensions import TypedDict

from relaygraph.config import get_stream_writer
from relaygraph.graph import START, MessagesState, StateGraph
from relaygraph.types import interrupt


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


class SubgraphState(TypedDict, total=False):
    foo: str
    bar: str


class ParentState(TypedDict, total=False):
    foo: str


def subgraph_node_1(state: SubgraphState) -> SubgraphState:
    return {"bar": "bar"}


def subgraph_node_2(state: SubgraphState) -> SubgraphState:
    return {"foo": state["foo"] + state["bar"]}


def node_1(state: ParentState) -> ParentState:
    return {"foo": "hi! " + state["foo"]}


_inner = (
    StateGraph(SubgraphState)
    .add_node(subgraph_node_1)
    .add_node(subgraph_node_2)
    .add_edge(START, "subgraph_node_1")
    .add_edge("subgraph_node_1", "subgraph_node_2")
    .compile()
)
subgraph = (
    StateGraph(ParentState)
    .add_node("node_1", node_1)
    .add_node("node_2", _inner)
    .add_edge(START, "node_1")
    .add_edge("node_1", "node_2")
    .compile()
)

_model = GenericFakeChatModel(
    messages=itertools.cycle([AIMessage("Hello there from the fake model")])
)


async def call_model(state: MessagesState) -> dict[str, object]:
    return {"messages": [await _model.ainvoke(state["messages"])]}


chat = StateGraph(MessagesState).add_node(call_model).add_edge(START, "call_model").compile()


class CustomState(TypedDict, total=False):
    n: int
    sleep: float
    steps: Annotated[list[str], operator.add]


async def emit(state: CustomState) -> CustomState:
    write = get_stream_writer()
    for i in range(state.get("n", 3)):
        write({"progress": i, "msg": f"item {i}"})
    return {"steps": ["emit"]}


async def slow(state: CustomState) -> CustomState:
    write = get_stream_writer()
    write("slow-start")
    await asyncio.sleep(state.get("sleep", 1))
    write("slow-end")
    return {"steps": ["slow"]}


custom = (
    StateGraph(CustomState)
    .add_node(emit)
    .add_node(slow)
    .add_edge(START, "emit")
    .add_edge("emit", "slow")
    .compile()
)


class ApprovalState(TypedDict, total=False):
    question: str
    answer: str


def ask(state: ApprovalState) -> ApprovalState:
    answer = interrupt({"question": state.get("question", "ship it?")})
    return {"answer": str(answer)}


hitl = StateGraph(ApprovalState).add_node(ask).add_edge(START, "ask").compile()


class BoomState(TypedDict, total=False):
    x: str


def explode(state: BoomState) -> BoomState:
    raise ValueError("kaboom: intentional failure")


boom = StateGraph(BoomState).add_node(explode).add_edge(START, "explode").compile()
