"""s06: values-mode details: first chunk, schemas, pydantic state, invoke vs stream,
``version="v2"``, resume and update_state.

Facts: STREAMING.md §2, §12 and golden-library/s06_values.normalized.txt.
"""

import operator
from typing import Annotated, TypedDict

import pytest
from pydantic import BaseModel

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.graph import START, StateGraph, add_messages
from relaygraph.types import Command, GraphOutput, Interrupt, interrupt
from tests.helpers import canon, exp_debug, exp_result, exp_task


class JokeState(TypedDict):
    topic: str
    joke: str


def _refine(state: JokeState) -> dict:
    return {"topic": state["topic"] + " and cats"}


def _joke(state: JokeState) -> dict:
    return {"joke": f"This is a joke about {state['topic']}"}


def make_graph(checkpointer=None):
    b = StateGraph(JokeState)
    b.add_node("refine_topic", _refine)
    b.add_node("generate_joke", _joke)
    b.add_edge(START, "refine_topic")
    b.add_edge("refine_topic", "generate_joke")
    return b.compile(checkpointer=checkpointer)


IN = {"topic": "ice cream"}
T1 = "ice cream and cats"
J1 = "This is a joke about ice cream and cats"
V0, V1, V2 = {"topic": "ice cream"}, {"topic": T1}, {"topic": T1, "joke": J1}
U1 = {"refine_topic": {"topic": T1}}
U2 = {"generate_joke": {"joke": J1}}


def cfg(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


def test_values_first_chunk_is_the_input_and_unset_keys_are_absent(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="values")
    assert chunks == [V0, V1, V2]
    assert "joke" not in chunks[0]
    assert "joke" not in chunks[1]


def test_invoke_equals_last_values_chunk(runner):
    graph = make_graph()
    last = runner.stream(graph, IN, stream_mode="values")[-1]
    out = runner.invoke(graph, IN)
    assert out == last
    assert type(out) is dict


def test_values_keys_follow_schema_order_not_input_order(runner):
    chunks = runner.stream(
        make_graph(), {"joke": "preset", "topic": "ice cream"}, stream_mode="values"
    )
    assert chunks == [
        {"topic": "ice cream", "joke": "preset"},
        {"topic": T1, "joke": "preset"},
        V2,
    ]
    assert [list(c) for c in chunks] == [["topic", "joke"]] * 3


# ---- input / output schemas ------------------------------------------------------------------
class Question(TypedDict):
    question: str


class Answer(TypedDict):
    answer: str


class Overall(TypedDict):
    question: str
    answer: str
    scratch: str


def _think(state: Overall) -> dict:
    return {"scratch": "thinking about " + state["question"]}


def _respond(state: Overall) -> dict:
    return {"answer": "answer to " + state["question"]}


def make_io_graph():
    b = StateGraph(Overall, input_schema=Question, output_schema=Answer)
    b.add_node("think", _think)
    b.add_node("respond", _respond)
    b.add_edge(START, "think")
    b.add_edge("think", "respond")
    return b.compile()


QIN = {"question": "why"}
THINK = {"question": "why", "scratch": "thinking about why"}
FINAL = {"question": "why", "answer": "answer to why", "scratch": "thinking about why"}


def test_values_stream_every_channel_regardless_of_output_schema(runner):
    chunks = runner.stream(make_io_graph(), QIN, stream_mode=["values", "updates", "tasks"])
    expected = [
        ("values", QIN),
        ("tasks", exp_task("<uuid-1>", "think", QIN)),
        ("updates", {"think": {"scratch": "thinking about why"}}),
        ("tasks", exp_result("<uuid-1>", "think", {"scratch": "thinking about why"})),
        ("values", THINK),
        ("tasks", exp_task("<uuid-2>", "respond", THINK)),
        ("updates", {"respond": {"answer": "answer to why"}}),
        ("tasks", exp_result("<uuid-2>", "respond", {"answer": "answer to why"})),
        ("values", FINAL),
    ]
    assert canon(chunks) == canon(expected)


def test_invoke_applies_output_schema(runner):
    assert runner.invoke(make_io_graph(), QIN) == {"answer": "answer to why"}


def test_values_with_subgraphs_flag_and_output_schema(runner):
    chunks = runner.stream(make_io_graph(), QIN, stream_mode="values", subgraphs=True)
    assert chunks == [((), QIN), ((), THINK), ((), FINAL)]


# ---- pydantic state ------------------------------------------------------------------------
class PState(BaseModel):
    topic: str
    joke: str = ""


def _p_refine(state: PState) -> dict:
    return {"topic": state.topic + " and cats"}


def _p_joke(state: PState) -> dict:
    return {"joke": "joke about " + state.topic}


def make_pydantic_graph():
    b = StateGraph(PState)
    b.add_node("p_refine", _p_refine)
    b.add_node("p_joke", _p_joke)
    b.add_edge(START, "p_refine")
    b.add_edge("p_refine", "p_joke")
    return b.compile()


PJ = "joke about ice cream and cats"


def test_pydantic_values_are_plain_dicts(runner):
    chunks = runner.stream(make_pydantic_graph(), IN, stream_mode=["values", "updates"])
    assert chunks == [
        ("values", {"topic": "ice cream"}),
        ("updates", {"p_refine": {"topic": T1}}),
        ("values", {"topic": T1}),
        ("updates", {"p_joke": {"joke": PJ}}),
        ("values", {"topic": T1, "joke": PJ}),
    ]
    assert all(type(c) is dict for _, c in chunks)


def test_pydantic_v2_values_are_model_instances(runner):
    chunks = runner.stream(
        make_pydantic_graph(), IN, stream_mode=["values", "updates"], version="v2"
    )
    assert chunks == [
        {"type": "values", "ns": (), "data": PState(topic="ice cream", joke=""), "interrupts": ()},
        {"type": "updates", "ns": (), "data": {"p_refine": {"topic": T1}}},
        {"type": "values", "ns": (), "data": PState(topic=T1, joke=""), "interrupts": ()},
        {"type": "updates", "ns": (), "data": {"p_joke": {"joke": PJ}}},
        {"type": "values", "ns": (), "data": PState(topic=T1, joke=PJ), "interrupts": ()},
    ]
    assert [list(c) for c in chunks[:2]] == [
        ["type", "ns", "data", "interrupts"],
        ["type", "ns", "data"],
    ]
    assert type(chunks[0]["data"]) is PState


def test_pydantic_invoke_returns_a_dict(runner):
    out = runner.invoke(make_pydantic_graph(), IN)
    assert out == {"topic": T1, "joke": PJ}
    assert type(out) is dict


def test_pydantic_invoke_v2_returns_graph_output_with_model(runner):
    out = runner.invoke(make_pydantic_graph(), IN, version="v2")
    assert isinstance(out, GraphOutput)
    assert out.value == PState(topic=T1, joke=PJ)
    assert type(out.value) is PState
    assert out.interrupts == ()


def test_pydantic_model_instance_input_fills_defaults(runner):
    chunks = runner.stream(make_pydantic_graph(), PState(topic="x"), stream_mode="values")
    assert chunks == [
        {"topic": "x", "joke": ""},
        {"topic": "x and cats", "joke": ""},
        {"topic": "x and cats", "joke": "joke about x and cats"},
    ]


# ---- version="v2" on the plain graph -------------------------------------------------------


def test_v2_values(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="values", version="v2")
    assert chunks == [
        {"type": "values", "ns": (), "data": V0, "interrupts": ()},
        {"type": "values", "ns": (), "data": V1, "interrupts": ()},
        {"type": "values", "ns": (), "data": V2, "interrupts": ()},
    ]


def test_v2_updates(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="updates", version="v2")
    assert chunks == [
        {"type": "updates", "ns": (), "data": U1},
        {"type": "updates", "ns": (), "data": U2},
    ]
    assert all(list(c) == ["type", "ns", "data"] for c in chunks)


@pytest.mark.parametrize("mode", ["custom", "checkpoints"])
def test_v2_empty_modes_stay_empty(runner, mode):
    assert runner.stream(make_graph(), IN, stream_mode=mode, version="v2") == []


def test_v2_tasks(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="tasks", version="v2")
    expected = [
        {"type": "tasks", "ns": (), "data": exp_task("<uuid-1>", "refine_topic", V0)},
        {"type": "tasks", "ns": (), "data": exp_result("<uuid-1>", "refine_topic", V1)},
        {"type": "tasks", "ns": (), "data": exp_task("<uuid-2>", "generate_joke", V1)},
        {"type": "tasks", "ns": (), "data": exp_result("<uuid-2>", "generate_joke", {"joke": J1})},
    ]
    assert canon(chunks) == canon(expected)


def test_v2_debug(runner):
    chunks = runner.stream(make_graph(), IN, stream_mode="debug", version="v2")
    a, b = "<uuid-1>", "<uuid-2>"
    expected = [
        {"type": "debug", "ns": (), "data": exp_debug(1, "task", exp_task(a, "refine_topic", V0))},
        {
            "type": "debug",
            "ns": (),
            "data": exp_debug(1, "task_result", exp_result(a, "refine_topic", V1)),
        },
        {"type": "debug", "ns": (), "data": exp_debug(2, "task", exp_task(b, "generate_joke", V1))},
        {
            "type": "debug",
            "ns": (),
            "data": exp_debug(2, "task_result", exp_result(b, "generate_joke", {"joke": J1})),
        },
    ]
    assert canon(chunks) == canon(expected)


def test_v2_same_shape_with_mode_list_and_subgraphs(runner):
    chunks = runner.stream(
        make_graph(), IN, stream_mode=["values", "updates"], version="v2", subgraphs=True
    )
    assert chunks == [
        {"type": "values", "ns": (), "data": V0, "interrupts": ()},
        {"type": "updates", "ns": (), "data": U1},
        {"type": "values", "ns": (), "data": V1, "interrupts": ()},
        {"type": "updates", "ns": (), "data": U2},
        {"type": "values", "ns": (), "data": V2, "interrupts": ()},
    ]


def test_v2_default_mode_is_updates(runner):
    chunks = runner.stream(make_graph(), IN, version="v2")
    assert chunks == [
        {"type": "updates", "ns": (), "data": U1},
        {"type": "updates", "ns": (), "data": U2},
    ]


def test_invoke_v2_returns_graph_output(runner):
    out = runner.invoke(make_graph(), IN, version="v2")
    assert isinstance(out, GraphOutput)
    assert out.value == V2
    assert out.interrupts == ()


def test_invoke_v2_with_updates_mode_returns_v2_dicts(runner):
    out = runner.invoke(make_graph(), IN, version="v2", stream_mode="updates")
    assert out == [
        {"type": "updates", "ns": (), "data": U1},
        {"type": "updates", "ns": (), "data": U2},
    ]


# ---- interrupt, resume, update_state --------------------------------------------------------
class AskState(TypedDict):
    q: str
    a: str
    log: Annotated[list, operator.add]


def _ask(state: AskState) -> dict:
    return {"a": interrupt("answer?"), "log": ["ask"]}


def _after(state: AskState) -> dict:
    return {"log": ["after"]}


def make_ask():
    b = StateGraph(AskState)
    b.add_node("ask", _ask)
    b.add_node("after", _after)
    b.add_edge(START, "ask")
    b.add_edge("ask", "after")
    return b.compile(checkpointer=InMemorySaver())


ASK_IN = {"q": "q?"}
ASK_V0 = {"q": "q?", "log": []}


def asked(hid: str = "<hex32-1>") -> Interrupt:
    return Interrupt(value="answer?", id=hid)


def test_interrupt_adds_a_values_chunk_with_interrupt_tuple(runner):
    chunks = runner.stream(make_ask(), ASK_IN, cfg("v"), stream_mode="values")
    expected = [ASK_V0, {**ASK_V0, "__interrupt__": (asked(),)}]
    assert canon(chunks) == canon(expected)
    assert list(chunks[1]) == ["q", "log", "__interrupt__"]
    assert type(chunks[1]["__interrupt__"]) is tuple


def test_invoke_none_while_interrupted_returns_state_with_interrupt_list(runner):
    graph = make_ask()
    first = runner.stream(graph, ASK_IN, cfg("v"), stream_mode="values")
    out = runner.invoke(graph, None, cfg("v"))
    assert canon([first[-1], out]) == canon(
        [{**ASK_V0, "__interrupt__": (asked(),)}, {**ASK_V0, "__interrupt__": [asked()]}]
    )
    assert type(out["__interrupt__"]) is list


def test_resume_first_chunk_is_current_saved_state(runner):
    graph = make_ask()
    runner.stream(graph, ASK_IN, cfg("v"), stream_mode="values")
    chunks = runner.stream(graph, Command(resume="A"), cfg("v"), stream_mode="values")
    assert chunks == [
        ASK_V0,
        {"q": "q?", "a": "A", "log": ["ask"]},
        {"q": "q?", "a": "A", "log": ["ask", "after"]},
    ]


def _finished_ask_graph(runner):
    graph = make_ask()
    runner.stream(graph, ASK_IN, cfg("v"), stream_mode="values")
    runner.stream(graph, Command(resume="A"), cfg("v"), stream_mode="values")
    return graph


def test_update_state_then_none_input_only_replays_state(runner):
    graph = _finished_ask_graph(runner)
    runner.update_state(graph, cfg("v"), {"q": "edited"})
    chunks = runner.stream(graph, None, cfg("v"), stream_mode=["values", "updates"])
    assert chunks == [("values", {"q": "edited", "a": "A", "log": ["ask", "after"]})]


def test_update_state_as_node_reruns_its_successor(runner):
    graph = _finished_ask_graph(runner)
    runner.update_state(graph, cfg("v"), {"q": "edited"})
    runner.update_state(graph, cfg("v"), {"a": "forced"}, as_node="ask")
    chunks = runner.stream(graph, None, cfg("v"), stream_mode=["values", "updates"])
    assert chunks == [
        ("values", {"q": "edited", "a": "forced", "log": ["ask", "after"]}),
        ("updates", {"after": {"log": ["after"]}}),
        ("values", {"q": "edited", "a": "forced", "log": ["ask", "after", "after"]}),
    ]


def test_new_input_on_interrupted_thread_restarts_from_start(runner):
    graph = make_ask()
    first = runner.stream(graph, ASK_IN, cfg("v2"), stream_mode="values")
    chunks = runner.stream(graph, {"q": "new"}, cfg("v2"), stream_mode=["values", "updates"])
    new_state = {"q": "new", "log": []}
    expected = [
        ("values", new_state),
        ("updates", {"__interrupt__": (asked("<hex32-2>"),)}),
        ("values", {**new_state, "__interrupt__": (asked("<hex32-2>"),)}),
    ]
    # <hex32-1> is the first run's interrupt; the restarted run raises a fresh one
    assert canon([first[-1]["__interrupt__"][0].id, *chunks]) == canon(["<hex32-1>", *expected])


# ---- list reducer channels exist before any write -------------------------------------------
class DefaultsState(TypedDict):
    topic: str
    messages: Annotated[list, add_messages]
    log: Annotated[list, operator.add]


def _bang(state: DefaultsState) -> dict:
    return {"topic": state["topic"] + "!"}


def test_list_reducer_channels_present_as_empty_lists(runner):
    b = StateGraph(DefaultsState)
    b.add_node("d_node", _bang)
    b.add_edge(START, "d_node")
    chunks = runner.stream(b.compile(), {"topic": "t"}, stream_mode="values")
    assert chunks == [
        {"topic": "t", "messages": [], "log": []},
        {"topic": "t!", "messages": [], "log": []},
    ]
    assert [list(c) for c in chunks] == [["topic", "messages", "log"]] * 2


# ---- values emitted only for steps that wrote something -------------------------------------
class PairState(TypedDict):
    x: int
    y: int


def _writes_nothing(state: PairState) -> dict:
    return {}


def _writes_y(state: PairState) -> dict:
    return {"y": state["x"] * 2}


def test_step_writing_nothing_has_no_values_chunk(runner):
    b = StateGraph(PairState)
    b.add_node("quiet", _writes_nothing)
    b.add_node("loud", _writes_y)
    b.add_edge(START, "quiet")
    b.add_edge("quiet", "loud")
    chunks = runner.stream(b.compile(), {"x": 2}, stream_mode=["values", "updates"])
    assert chunks == [
        ("values", {"x": 2}),
        ("updates", {"quiet": None}),
        ("updates", {"loud": {"y": 4}}),
        ("values", {"x": 2, "y": 4}),
    ]


def test_values_first_chunk_merges_input_into_saved_state(runner):
    graph = make_graph(InMemorySaver())
    runner.stream(graph, IN, cfg("m"), stream_mode="values")
    chunks = runner.stream(graph, {"topic": "dogs"}, cfg("m"), stream_mode="values")
    assert chunks == [
        {"topic": "dogs", "joke": J1},
        {"topic": "dogs and cats", "joke": J1},
        {"topic": "dogs and cats", "joke": "This is a joke about dogs and cats"},
    ]
