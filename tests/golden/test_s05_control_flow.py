"""s05: fan-out, reducers, conditional edges, Send, Command, interrupt/resume, errors,
recursion limit and odd node return values.

Facts: STREAMING.md §1.5, §2-§3, §6-§7, §10 and golden-library/s05_control_flow.normalized.txt.
"""

import operator
import re
import time
from typing import Annotated, Literal, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from relaygraph.checkpoint.memory import InMemorySaver
from relaygraph.errors import EmptyInputError, GraphRecursionError, InvalidUpdateError
from relaygraph.graph import END, START, StateGraph, add_messages
from relaygraph.types import Command, Interrupt, Send, interrupt
from tests.conftest import REFERENCE_RUN
from tests.helpers import (
    canon,
    exp_checkpoint,
    exp_config,
    exp_cp_task,
    exp_debug,
    exp_result,
    exp_task,
)


def cfg(thread: str) -> dict:
    return {"configurable": {"thread_id": thread}}


def intr(value, hid: str = "<hex32-1>") -> Interrupt:
    """An expected Interrupt; the id placeholder is compared after normalisation."""
    return Interrupt(value=value, id=hid)


def intr_dict(value, hid: str = "<hex32-1>") -> dict:
    return {"value": value, "id": hid, "response_schema": None}


# ---- fan-out / fan-in --------------------------------------------------------------------
class FanState(TypedDict):
    log: Annotated[list, operator.add]
    last: str


def _slow_a(state: FanState) -> dict:
    time.sleep(0.05)  # b finishes first
    return {"log": ["a"], "last": "a"}


def _fast_b(state: FanState) -> dict:
    return {"log": ["b"]}


def _join_c(state: FanState) -> dict:
    return {"log": ["c"], "last": "c"}


def make_fan(checkpointer=None):
    b = StateGraph(FanState)
    b.add_node("a", _slow_a)
    b.add_node("b", _fast_b)
    b.add_node("c", _join_c)
    b.add_edge(START, "a")
    b.add_edge(START, "b")
    b.add_edge("a", "c")
    b.add_edge("b", "c")
    return b.compile(checkpointer=checkpointer)


FAN_IN = {"log": ["start"], "last": ""}
FAN_V1 = {"log": ["start", "a", "b"], "last": "a"}
FAN_V2 = {"log": ["start", "a", "b", "c"], "last": "c"}


def test_fan_out_updates_arrive_in_completion_order(runner):
    chunks = runner.stream(make_fan(), FAN_IN, stream_mode="updates")
    assert chunks == [
        {"b": {"log": ["b"]}},
        {"a": {"log": ["a"], "last": "a"}},
        {"c": {"log": ["c"], "last": "c"}},
    ]


def test_fan_out_values_apply_reducers_in_task_order(runner):
    chunks = runner.stream(make_fan(), FAN_IN, stream_mode="values")
    assert chunks == [FAN_IN, FAN_V1, FAN_V2]


def test_fan_out_one_values_chunk_per_step(runner):
    chunks = runner.stream(make_fan(), FAN_IN, stream_mode=["updates", "values"])
    assert chunks == [
        ("values", FAN_IN),
        ("updates", {"b": {"log": ["b"]}}),
        ("updates", {"a": {"log": ["a"], "last": "a"}}),
        ("values", FAN_V1),
        ("updates", {"c": {"log": ["c"], "last": "c"}}),
        ("values", FAN_V2),
    ]


def test_fan_out_tasks_start_in_name_order_finish_in_completion_order(runner):
    chunks = runner.stream(make_fan(), FAN_IN, stream_mode="tasks")
    expected = [
        exp_task("<uuid-1>", "a", FAN_IN),
        exp_task("<uuid-2>", "b", FAN_IN),
        exp_result("<uuid-2>", "b", {"log": ["b"]}),
        exp_result("<uuid-1>", "a", {"log": ["a"], "last": "a"}),
        exp_task("<uuid-3>", "c", FAN_V1),
        exp_result("<uuid-3>", "c", {"log": ["c"], "last": "c"}),
    ]
    assert canon(chunks) == canon(expected)


def test_fan_out_debug_with_checkpointer(runner):
    t = "p"
    chunks = runner.stream(make_fan(InMemorySaver()), FAN_IN, cfg(t), stream_mode="debug")
    expected = [
        exp_debug(
            -1,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-1>"),
                None,
                {"log": []},  # list reducer channels exist before any write
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-2>", "__start__")],
            ),
        ),
        exp_debug(
            0,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-3>"),
                exp_config(t, "<uuid-1>"),
                FAN_IN,
                0,
                ["a", "b"],
                [exp_cp_task("<uuid-4>", "a"), exp_cp_task("<uuid-5>", "b")],
            ),
        ),
        exp_debug(1, "task", exp_task("<uuid-4>", "a", FAN_IN)),
        exp_debug(1, "task", exp_task("<uuid-5>", "b", FAN_IN)),
        exp_debug(1, "task_result", exp_result("<uuid-5>", "b", {"log": ["b"]})),
        exp_debug(1, "task_result", exp_result("<uuid-4>", "a", {"log": ["a"], "last": "a"})),
        exp_debug(
            1,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-6>"),
                exp_config(t, "<uuid-3>"),
                FAN_V1,
                1,
                ["c"],
                [exp_cp_task("<uuid-7>", "c")],
            ),
        ),
        exp_debug(2, "task", exp_task("<uuid-7>", "c", FAN_V1)),
        exp_debug(2, "task_result", exp_result("<uuid-7>", "c", {"log": ["c"], "last": "c"})),
        exp_debug(
            2,
            "checkpoint",
            exp_checkpoint(exp_config(t, "<uuid-8>"), exp_config(t, "<uuid-6>"), FAN_V2, 2, [], []),
        ),
    ]
    assert canon(chunks) == canon(expected)


class OrderState(TypedDict):
    log: Annotated[list, operator.add]


def _delayed(name: str, delay: float):
    def node(state: OrderState) -> dict:
        time.sleep(delay)
        return {"log": [name]}

    return node


def test_three_way_ordering_start_completion_and_reducer_order(runner):
    b = StateGraph(OrderState)
    b.add_node("zeta", _delayed("zeta", 0.0))
    b.add_node("alpha", _delayed("alpha", 0.08))
    b.add_node("mid", _delayed("mid", 0.04))
    for name in ("zeta", "alpha", "mid"):
        b.add_edge(START, name)
    chunks = runner.stream(b.compile(), {"log": []}, stream_mode=["tasks", "updates", "values"])
    expected = [
        ("values", {"log": []}),
        ("tasks", exp_task("<uuid-1>", "alpha", {"log": []})),
        ("tasks", exp_task("<uuid-2>", "mid", {"log": []})),
        ("tasks", exp_task("<uuid-3>", "zeta", {"log": []})),
        ("updates", {"zeta": {"log": ["zeta"]}}),
        ("tasks", exp_result("<uuid-3>", "zeta", {"log": ["zeta"]})),
        ("updates", {"mid": {"log": ["mid"]}}),
        ("tasks", exp_result("<uuid-2>", "mid", {"log": ["mid"]})),
        ("updates", {"alpha": {"log": ["alpha"]}}),
        ("tasks", exp_result("<uuid-1>", "alpha", {"log": ["alpha"]})),
        ("values", {"log": ["alpha", "mid", "zeta"]}),
    ]
    assert canon(chunks) == canon(expected)


# ---- add_messages --------------------------------------------------------------------------
class ChatState(TypedDict):
    messages: Annotated[list, add_messages]


def _m1(state: ChatState) -> dict:
    return {"messages": [AIMessage(content="from m1", id="m1")]}


def _m2(state: ChatState) -> dict:
    return {
        "messages": [
            AIMessage(content="m1 edited by m2", id="m1"),
            AIMessage(content="from m2", id="m2"),
        ]
    }


def make_chat():
    b = StateGraph(ChatState)
    b.add_node("m1", _m1)
    b.add_node("m2", _m2)
    b.add_edge(START, "m1")
    b.add_edge("m1", "m2")
    return b.compile()


def test_add_messages_updates_are_raw_and_values_are_merged_by_id(runner):
    human = HumanMessage(content="hi", id="h1")
    chunks = runner.stream(make_chat(), {"messages": [human]}, stream_mode=["updates", "values"])
    first = AIMessage(content="from m1", id="m1")
    edited = AIMessage(content="m1 edited by m2", id="m1")
    second = AIMessage(content="from m2", id="m2")
    assert chunks == [
        ("values", {"messages": [human]}),
        ("updates", {"m1": {"messages": [first]}}),
        ("values", {"messages": [human, first]}),
        ("updates", {"m2": {"messages": [edited, second]}}),
        ("values", {"messages": [human, edited, second]}),
    ]


def test_add_messages_converts_tuple_input_and_assigns_an_id(runner):
    chunks = runner.stream(make_chat(), {"messages": [("user", "hi")]}, stream_mode="values")
    assert len(chunks) == 3
    human = chunks[0]["messages"][0]
    assert isinstance(human, HumanMessage)
    assert human.content == "hi"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", human.id)
    assert [m.id for m in chunks[1]["messages"]] == [human.id, "m1"]
    assert [m.id for m in chunks[2]["messages"]] == [human.id, "m1", "m2"]
    assert [m.content for m in chunks[2]["messages"]] == ["hi", "m1 edited by m2", "from m2"]


# ---- conditional edges -----------------------------------------------------------------------
class BranchState(TypedDict):
    n: int
    path: Annotated[list, operator.add]


def _begin(state: BranchState) -> dict:
    return {"path": ["start_node"]}


def _parity(state: BranchState) -> Literal["even", "odd"]:
    return "even" if state["n"] % 2 == 0 else "odd"


def _even(state: BranchState) -> dict:
    return {"path": ["even"]}


def _odd(state: BranchState) -> dict:
    return {"path": ["odd"]}


def test_conditional_edge_routes_and_emits_nothing_itself(runner):
    b = StateGraph(BranchState)
    b.add_node("start_node", _begin)
    b.add_node("even", _even)
    b.add_node("odd", _odd)
    b.add_edge(START, "start_node")
    b.add_conditional_edges("start_node", _parity)
    b.add_edge("even", END)
    b.add_edge("odd", END)
    chunks = runner.stream(
        b.compile(), {"n": 3, "path": []}, stream_mode=["updates", "values", "tasks"]
    )
    v1 = {"n": 3, "path": ["start_node"]}
    expected = [
        ("values", {"n": 3, "path": []}),
        ("tasks", exp_task("<uuid-1>", "start_node", {"n": 3, "path": []})),
        ("updates", {"start_node": {"path": ["start_node"]}}),
        ("tasks", exp_result("<uuid-1>", "start_node", {"path": ["start_node"]})),
        ("values", v1),
        ("tasks", exp_task("<uuid-2>", "odd", v1)),
        ("updates", {"odd": {"path": ["odd"]}}),
        ("tasks", exp_result("<uuid-2>", "odd", {"path": ["odd"]})),
        ("values", {"n": 3, "path": ["start_node", "odd"]}),
    ]
    assert canon(chunks) == canon(expected)


def test_conditional_edge_from_start_uses_branch_trigger(runner):
    b = StateGraph(BranchState)
    b.add_node("even", _even)
    b.add_node("odd", _odd)
    b.add_conditional_edges(START, _parity)
    chunks = runner.stream(
        b.compile(), {"n": 2, "path": []}, stream_mode=["updates", "values", "tasks"]
    )
    expected = [
        ("values", {"n": 2, "path": []}),
        ("tasks", exp_task("<uuid-1>", "even", {"n": 2, "path": []})),
        ("updates", {"even": {"path": ["even"]}}),
        ("tasks", exp_result("<uuid-1>", "even", {"path": ["even"]})),
        ("values", {"n": 2, "path": ["even"]}),
    ]
    assert canon(chunks) == canon(expected)
    assert chunks[1][1]["triggers"] == ("branch:to:even",)


# ---- Send ----------------------------------------------------------------------------------
class MapState(TypedDict):
    topic: str
    subjects: list
    jokes: Annotated[list, operator.add]
    best: str


class SubjectState(TypedDict):
    subject: str


SUBJECTS = ["lions", "elephants", "penguins"]


def _topics(state: MapState) -> dict:
    return {"subjects": list(SUBJECTS)}


def _fan_to_jokes(state: MapState) -> list:
    return [Send("generate_joke", {"subject": s}) for s in state["subjects"]]


def _one_joke(state: SubjectState) -> dict:
    return {"jokes": [f"joke about {state['subject']}"]}


def _best(state: MapState) -> dict:
    return {"best": state["jokes"][0]}


def make_map(checkpointer=None):
    b = StateGraph(MapState)
    b.add_node("gen_topics", _topics)
    b.add_node("generate_joke", _one_joke)
    b.add_node("best_joke", _best)
    b.add_edge(START, "gen_topics")
    b.add_conditional_edges("gen_topics", _fan_to_jokes, ["generate_joke"])
    b.add_edge("generate_joke", "best_joke")
    b.add_edge("best_joke", END)
    return b.compile(checkpointer=checkpointer)


MAP_IN = {"topic": "animals"}
JOKES = [f"joke about {s}" for s in SUBJECTS]
MAP_V0 = {"topic": "animals", "jokes": []}
MAP_V1 = {"topic": "animals", "subjects": SUBJECTS, "jokes": []}
MAP_V2 = {"topic": "animals", "subjects": SUBJECTS, "jokes": JOKES}
MAP_V3 = {"topic": "animals", "subjects": SUBJECTS, "jokes": JOKES, "best": "joke about lions"}


def test_send_updates_one_chunk_per_send(runner):
    chunks = runner.stream(make_map(), MAP_IN, stream_mode="updates")
    assert chunks == [
        {"gen_topics": {"subjects": SUBJECTS}},
        *[{"generate_joke": {"jokes": [j]}} for j in JOKES],
        {"best_joke": {"best": "joke about lions"}},
    ]


def test_send_values_one_chunk_for_the_send_step(runner):
    chunks = runner.stream(make_map(), MAP_IN, stream_mode="values")
    assert chunks == [MAP_V0, MAP_V1, MAP_V2, MAP_V3]
    assert [list(c) for c in chunks][-1] == ["topic", "subjects", "jokes", "best"]


def test_send_tasks_use_push_trigger_and_send_argument_as_input(runner):
    chunks = runner.stream(make_map(), MAP_IN, stream_mode="tasks")
    push = ("__pregel_push",)
    expected = [
        exp_task("<uuid-1>", "gen_topics", MAP_V0),
        exp_result("<uuid-1>", "gen_topics", {"subjects": SUBJECTS}),
        exp_task("<uuid-2>", "generate_joke", {"subject": "lions"}, push),
        exp_task("<uuid-3>", "generate_joke", {"subject": "elephants"}, push),
        exp_task("<uuid-4>", "generate_joke", {"subject": "penguins"}, push),
        exp_result("<uuid-2>", "generate_joke", {"jokes": [JOKES[0]]}),
        exp_result("<uuid-3>", "generate_joke", {"jokes": [JOKES[1]]}),
        exp_result("<uuid-4>", "generate_joke", {"jokes": [JOKES[2]]}),
        exp_task("<uuid-5>", "best_joke", MAP_V2),
        exp_result("<uuid-5>", "best_joke", {"best": "joke about lions"}),
    ]
    assert canon(chunks) == canon(expected)


def test_send_debug_with_checkpointer_repeats_next(runner):
    t = "s"
    chunks = runner.stream(make_map(InMemorySaver()), MAP_IN, cfg(t), stream_mode="debug")
    push = ("__pregel_push",)
    expected = [
        exp_debug(
            -1,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-1>"),
                None,
                {"jokes": []},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-2>", "__start__")],
            ),
        ),
        exp_debug(
            0,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-3>"),
                exp_config(t, "<uuid-1>"),
                MAP_V0,
                0,
                ["gen_topics"],
                [exp_cp_task("<uuid-4>", "gen_topics")],
            ),
        ),
        exp_debug(1, "task", exp_task("<uuid-4>", "gen_topics", MAP_V0)),
        exp_debug(1, "task_result", exp_result("<uuid-4>", "gen_topics", {"subjects": SUBJECTS})),
        exp_debug(
            1,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-5>"),
                exp_config(t, "<uuid-3>"),
                MAP_V1,
                1,
                ["generate_joke"] * 3,
                [
                    exp_cp_task("<uuid-6>", "generate_joke"),
                    exp_cp_task("<uuid-7>", "generate_joke"),
                    exp_cp_task("<uuid-8>", "generate_joke"),
                ],
            ),
        ),
        exp_debug(2, "task", exp_task("<uuid-6>", "generate_joke", {"subject": "lions"}, push)),
        exp_debug(2, "task", exp_task("<uuid-7>", "generate_joke", {"subject": "elephants"}, push)),
        exp_debug(2, "task", exp_task("<uuid-8>", "generate_joke", {"subject": "penguins"}, push)),
        exp_debug(2, "task_result", exp_result("<uuid-6>", "generate_joke", {"jokes": [JOKES[0]]})),
        exp_debug(2, "task_result", exp_result("<uuid-7>", "generate_joke", {"jokes": [JOKES[1]]})),
        exp_debug(2, "task_result", exp_result("<uuid-8>", "generate_joke", {"jokes": [JOKES[2]]})),
        exp_debug(
            2,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-9>"),
                exp_config(t, "<uuid-5>"),
                MAP_V2,
                2,
                ["best_joke"],
                [exp_cp_task("<uuid-10>", "best_joke")],
            ),
        ),
        exp_debug(3, "task", exp_task("<uuid-10>", "best_joke", MAP_V2)),
        exp_debug(
            3, "task_result", exp_result("<uuid-10>", "best_joke", {"best": "joke about lions"})
        ),
        exp_debug(
            3,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-11>"), exp_config(t, "<uuid-9>"), MAP_V3, 3, [], []
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)


# ---- Command -------------------------------------------------------------------------------
class GotoState(TypedDict):
    foo: str
    trail: Annotated[list, operator.add]


def _target_a(state: GotoState) -> dict:
    return {"trail": ["target_a"]}


def _target_b(state: GotoState) -> dict:
    return {"trail": ["target_b"]}


def _goto_b_with_update(state: GotoState) -> Command[Literal["target_b"]]:
    return Command(update={"foo": "set by command", "trail": ["cmd_node"]}, goto="target_b")


def _goto_both(state: GotoState) -> Command[Literal["target_a", "target_b"]]:
    return Command(goto=["target_a", "target_b"])


def _goto_send(state: GotoState) -> Command[Literal["target_a"]]:
    return Command(goto=[Send("target_a", {"foo": "x", "trail": []})], update={"trail": ["sent"]})


def make_goto(name: str, fn):
    b = StateGraph(GotoState)
    b.add_node(name, fn)
    b.add_node("target_a", _target_a)
    b.add_node("target_b", _target_b)
    b.add_edge(START, name)
    return b.compile()


GOTO_IN = {"foo": "", "trail": []}


def test_command_update_and_goto(runner):
    graph = make_goto("cmd_node", _goto_b_with_update)
    chunks = runner.stream(graph, GOTO_IN, stream_mode=["updates", "values", "tasks"])
    upd = {"foo": "set by command", "trail": ["cmd_node"]}
    expected = [
        ("values", GOTO_IN),
        ("tasks", exp_task("<uuid-1>", "cmd_node", GOTO_IN)),
        ("updates", {"cmd_node": upd}),
        ("tasks", exp_result("<uuid-1>", "cmd_node", upd)),
        ("values", upd),
        ("tasks", exp_task("<uuid-2>", "target_b", upd)),
        ("updates", {"target_b": {"trail": ["target_b"]}}),
        ("tasks", exp_result("<uuid-2>", "target_b", {"trail": ["target_b"]})),
        ("values", {"foo": "set by command", "trail": ["cmd_node", "target_b"]}),
    ]
    assert canon(chunks) == canon(expected)


def test_command_goto_list_without_update(runner):
    graph = make_goto("cmd_goto_list", _goto_both)
    chunks = runner.stream(graph, GOTO_IN, stream_mode=["updates", "values"])
    assert chunks == [
        ("values", GOTO_IN),
        ("updates", {"cmd_goto_list": None}),  # no values chunk: the step wrote nothing
        ("updates", {"target_a": {"trail": ["target_a"]}}),
        ("updates", {"target_b": {"trail": ["target_b"]}}),
        ("values", {"foo": "", "trail": ["target_a", "target_b"]}),
    ]


def test_command_goto_send(runner):
    graph = make_goto("cmd_goto_send", _goto_send)
    chunks = runner.stream(graph, GOTO_IN, stream_mode=["updates", "values"])
    assert chunks == [
        ("values", GOTO_IN),
        ("updates", {"cmd_goto_send": {"trail": ["sent"]}}),
        ("values", {"foo": "", "trail": ["sent"]}),
        ("updates", {"target_a": {"trail": ["target_a"]}}),
        ("values", {"foo": "", "trail": ["sent", "target_a"]}),
    ]


def _jump_to_parent(state: GotoState) -> Command:
    return Command(graph=Command.PARENT, goto="target_a", update={"trail": ["sub_jump->parent"]})


def make_parent_jump():
    sb = StateGraph(GotoState)
    sb.add_node("sub_jump", _jump_to_parent)
    sb.add_edge(START, "sub_jump")
    pb = StateGraph(GotoState)
    pb.add_node("sub", sb.compile(), destinations=("target_a",))
    pb.add_node("target_a", _target_a)
    pb.add_edge(START, "sub")
    return pb.compile()


def test_command_parent_reported_under_subgraph_node(runner):
    chunks = runner.stream(make_parent_jump(), GOTO_IN, stream_mode=["updates", "values"])
    assert chunks == [
        ("values", GOTO_IN),
        ("updates", {"sub": {"trail": ["sub_jump->parent"]}}),
        ("values", {"foo": "", "trail": ["sub_jump->parent"]}),
        ("updates", {"target_a": {"trail": ["target_a"]}}),
        ("values", {"foo": "", "trail": ["sub_jump->parent", "target_a"]}),
    ]


def test_command_parent_with_subgraphs(runner):
    chunks = runner.stream(
        make_parent_jump(), GOTO_IN, stream_mode=["updates", "values"], subgraphs=True
    )
    expected = [
        ((), "values", GOTO_IN),
        (("sub:<uuid-1>",), "values", GOTO_IN),
        ((), "updates", {"sub": {"trail": ["sub_jump->parent"]}}),
        ((), "values", {"foo": "", "trail": ["sub_jump->parent"]}),
        ((), "updates", {"target_a": {"trail": ["target_a"]}}),
        ((), "values", {"foo": "", "trail": ["sub_jump->parent", "target_a"]}),
    ]
    assert canon(chunks) == canon(expected)


# ---- interrupt() and resume ----------------------------------------------------------------
class AskState(TypedDict):
    question: str
    answer: str


def _before(state: AskState) -> dict:
    return {"question": state["question"] + "?"}


def _ask(state: AskState) -> dict:
    return {"answer": interrupt({"q": state["question"]})}


def _after(state: AskState) -> dict:
    return {"answer": state["answer"] + "!"}


def make_ask(checkpointer=None):
    b = StateGraph(AskState)
    b.add_node("before", _before)
    b.add_node("ask", _ask)
    b.add_node("after", _after)
    b.add_edge(START, "before")
    b.add_edge("before", "ask")
    b.add_edge("ask", "after")
    return b.compile(checkpointer=checkpointer)


Q = {"question": "why"}
QQ = {"question": "why?"}
QA = {"question": "why?", "answer": "because"}
QA2 = {"question": "why?", "answer": "because!"}
ASKED = {"q": "why?"}


def test_interrupt_values_first_run_ends_normally(runner):
    graph = make_ask(InMemorySaver())
    chunks, exc = runner.stream_until_error(graph, Q, cfg("i1"), stream_mode="values")
    assert exc is None
    expected = [Q, QQ, {**QQ, "__interrupt__": (intr(ASKED),)}]
    assert canon(chunks) == canon(expected)
    assert type(chunks[-1]["__interrupt__"]) is tuple
    assert re.fullmatch(r"[0-9a-f]{32}", chunks[-1]["__interrupt__"][0].id)


def test_interrupt_state_after_first_run(runner):
    graph = make_ask(InMemorySaver())
    chunks = runner.stream(graph, Q, cfg("i1"), stream_mode="tasks")
    state = runner.get_state(graph, cfg("i1"))
    assert state.next == ("ask",)
    assert state.values == QQ
    assert len(state.interrupts) == 1
    assert state.interrupts[0].value == ASKED
    assert [(t.name, t.error) for t in state.tasks] == [("ask", None)]
    assert state.tasks[0].id == chunks[2]["id"]
    assert state.tasks[0].interrupts == state.interrupts
    assert state.interrupts[0].id == chunks[3]["interrupts"][0]["id"]


def test_interrupt_values_resume(runner):
    graph = make_ask(InMemorySaver())
    runner.stream(graph, Q, cfg("i1"), stream_mode="values")
    chunks = runner.stream(graph, Command(resume="because"), cfg("i1"), stream_mode="values")
    assert chunks == [QQ, QA, QA2]


def test_interrupt_updates_first_run_and_resume(runner):
    graph = make_ask(InMemorySaver())
    first = runner.stream(graph, Q, cfg("i1"), stream_mode="updates")
    assert canon(first) == canon([{"before": QQ}, {"__interrupt__": (intr(ASKED),)}])
    resumed = runner.stream(graph, Command(resume="because"), cfg("i1"), stream_mode="updates")
    assert resumed == [{"ask": {"answer": "because"}}, {"after": {"answer": "because!"}}]


def test_interrupt_values_and_updates_first_run_and_resume(runner):
    graph = make_ask(InMemorySaver())
    first = runner.stream(graph, Q, cfg("i1"), stream_mode=["values", "updates"])
    expected = [
        ("values", Q),
        ("updates", {"before": QQ}),
        ("values", QQ),
        ("updates", {"__interrupt__": (intr(ASKED),)}),
        ("values", {**QQ, "__interrupt__": (intr(ASKED),)}),
    ]
    assert canon(first) == canon(expected)
    resumed = runner.stream(
        graph, Command(resume="because"), cfg("i1"), stream_mode=["values", "updates"]
    )
    assert resumed == [
        ("values", QQ),
        ("updates", {"ask": {"answer": "because"}}),
        ("values", QA),
        ("updates", {"after": {"answer": "because!"}}),
        ("values", QA2),
    ]


def test_interrupt_tasks_resume_reuses_the_task_id(runner):
    graph = make_ask(InMemorySaver())
    first = runner.stream(graph, Q, cfg("i1"), stream_mode="tasks")
    resumed = runner.stream(graph, Command(resume="because"), cfg("i1"), stream_mode="tasks")
    expected = [
        exp_task("<uuid-1>", "before", Q),
        exp_result("<uuid-1>", "before", QQ),
        exp_task("<uuid-2>", "ask", QQ),
        exp_result("<uuid-2>", "ask", {}, interrupts=[intr_dict(ASKED)]),
        # resumed run
        exp_task("<uuid-2>", "ask", QQ),
        exp_result("<uuid-2>", "ask", {"answer": "because"}),
        exp_task("<uuid-3>", "after", QA),
        exp_result("<uuid-3>", "after", {"answer": "because!"}),
    ]
    assert canon(first + resumed) == canon(expected)


def test_interrupt_debug_first_run_has_no_checkpoint_after_interrupt(runner):
    t = "i1"
    graph = make_ask(InMemorySaver())
    chunks = runner.stream(graph, Q, cfg(t), stream_mode="debug")
    expected = [
        exp_debug(
            -1,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-1>"),
                None,
                {},
                -1,
                ["__start__"],
                [exp_cp_task("<uuid-2>", "__start__")],
            ),
        ),
        exp_debug(
            0,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-3>"),
                exp_config(t, "<uuid-1>"),
                Q,
                0,
                ["before"],
                [exp_cp_task("<uuid-4>", "before")],
            ),
        ),
        exp_debug(1, "task", exp_task("<uuid-4>", "before", Q)),
        exp_debug(1, "task_result", exp_result("<uuid-4>", "before", QQ)),
        exp_debug(
            1,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-5>"),
                exp_config(t, "<uuid-3>"),
                QQ,
                1,
                ["ask"],
                [exp_cp_task("<uuid-6>", "ask")],
            ),
        ),
        exp_debug(2, "task", exp_task("<uuid-6>", "ask", QQ)),
        exp_debug(
            2, "task_result", exp_result("<uuid-6>", "ask", {}, interrupts=[intr_dict(ASKED)])
        ),
    ]
    assert canon(chunks) == canon(expected)


def test_interrupt_debug_resume_reemits_the_stored_checkpoint(runner):
    t = "i1"
    graph = make_ask(InMemorySaver())
    first = runner.stream(graph, Q, cfg(t), stream_mode="debug")
    resumed = runner.stream(graph, Command(resume="because"), cfg(t), stream_mode="debug")
    cp1 = first[4]["payload"]["config"]["configurable"]["checkpoint_id"]
    cp0 = first[4]["payload"]["parent_config"]["configurable"]["checkpoint_id"]
    ask_id = first[5]["payload"]["id"]
    interrupt_id = first[6]["payload"]["interrupts"][0]["id"]
    # placeholders are numbered in order of first appearance within the resumed chunks
    assert canon([cp1, cp0, ask_id, interrupt_id]) == canon(
        ["<uuid-1>", "<uuid-2>", "<uuid-3>", "<hex32-1>"]
    )
    expected = [
        exp_debug(
            1,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, cp1),
                # stored parent config: thread_id first
                {"configurable": {"thread_id": t, "checkpoint_ns": "", "checkpoint_id": cp0}},
                QQ,
                1,
                ["ask"],
                [exp_cp_task(ask_id, "ask", interrupts=(intr_dict(ASKED, interrupt_id),))],
            ),
        ),
        exp_debug(2, "task", exp_task(ask_id, "ask", QQ)),
        exp_debug(2, "task_result", exp_result(ask_id, "ask", {"answer": "because"})),
        exp_debug(
            2,
            "checkpoint",
            exp_checkpoint(
                exp_config(t, "<uuid-4>"),
                exp_config(t, cp1),
                QA,
                2,
                ["after"],
                [exp_cp_task("<uuid-5>", "after")],
            ),
        ),
        exp_debug(3, "task", exp_task("<uuid-5>", "after", QA)),
        exp_debug(3, "task_result", exp_result("<uuid-5>", "after", {"answer": "because!"})),
        exp_debug(
            3,
            "checkpoint",
            exp_checkpoint(exp_config(t, "<uuid-6>"), exp_config(t, "<uuid-4>"), QA2, 3, [], []),
        ),
    ]
    # canon() numbers the real ids in `expected` (<uuid-1..3>, <hex32-1>) just as in `resumed`
    assert canon(resumed) == canon(expected)


def test_interrupt_checkpoints_first_run_and_resume(runner):
    t = "i1"
    graph = make_ask(InMemorySaver())
    first = runner.stream(graph, Q, cfg(t), stream_mode="checkpoints")
    resumed = runner.stream(graph, Command(resume="because"), cfg(t), stream_mode="checkpoints")
    ask = ("<uuid-6>", "ask")
    expected = [
        exp_checkpoint(
            exp_config(t, "<uuid-1>"),
            None,
            {},
            -1,
            ["__start__"],
            [exp_cp_task("<uuid-2>", "__start__")],
        ),
        exp_checkpoint(
            exp_config(t, "<uuid-3>"),
            exp_config(t, "<uuid-1>"),
            Q,
            0,
            ["before"],
            [exp_cp_task("<uuid-4>", "before")],
        ),
        exp_checkpoint(
            exp_config(t, "<uuid-5>"),
            exp_config(t, "<uuid-3>"),
            QQ,
            1,
            ["ask"],
            [exp_cp_task(*ask)],
        ),
        # resumed run: the stored checkpoint again, now with the interrupt on its task
        exp_checkpoint(
            exp_config(t, "<uuid-5>"),
            {"configurable": {"thread_id": t, "checkpoint_ns": "", "checkpoint_id": "<uuid-3>"}},
            QQ,
            1,
            ["ask"],
            [exp_cp_task(*ask, interrupts=(intr_dict(ASKED),))],
        ),
        exp_checkpoint(
            exp_config(t, "<uuid-7>"),
            exp_config(t, "<uuid-5>"),
            QA,
            2,
            ["after"],
            [exp_cp_task("<uuid-8>", "after")],
        ),
        exp_checkpoint(exp_config(t, "<uuid-9>"), exp_config(t, "<uuid-7>"), QA2, 3, [], []),
    ]
    assert canon(first + resumed) == canon(expected)


def test_interrupt_invoke_returns_list_of_interrupts(runner):
    graph = make_ask(InMemorySaver())
    out = runner.invoke(graph, Q, cfg("i2"))
    assert canon([out]) == canon([{**QQ, "__interrupt__": [intr(ASKED)]}])
    assert type(out["__interrupt__"]) is list
    assert runner.invoke(graph, Command(resume="because"), cfg("i2")) == QA2


def test_interrupt_v2_moves_interrupts_out_of_data(runner):
    graph = make_ask(InMemorySaver())
    first = runner.stream(graph, Q, cfg("i3"), stream_mode=["values", "updates"], version="v2")
    resumed = runner.stream(
        graph, Command(resume="because"), cfg("i3"), stream_mode=["values", "updates"], version="v2"
    )
    expected = [
        {"type": "values", "ns": (), "data": Q, "interrupts": ()},
        {"type": "updates", "ns": (), "data": {"before": QQ}},
        {"type": "values", "ns": (), "data": QQ, "interrupts": ()},
        {"type": "updates", "ns": (), "data": {"__interrupt__": (intr(ASKED),)}},
        {"type": "values", "ns": (), "data": QQ, "interrupts": (intr(ASKED),)},
        {"type": "values", "ns": (), "data": QQ, "interrupts": ()},
        {"type": "updates", "ns": (), "data": {"ask": {"answer": "because"}}},
        {"type": "values", "ns": (), "data": QA, "interrupts": ()},
        {"type": "updates", "ns": (), "data": {"after": {"answer": "because!"}}},
        {"type": "values", "ns": (), "data": QA2, "interrupts": ()},
    ]
    assert canon(first + resumed) == canon(expected)


def test_interrupt_none_input_repeats_the_same_interrupt(runner):
    graph = make_ask(InMemorySaver())
    first = runner.stream(graph, Q, cfg("i4"), stream_mode="updates")
    again = runner.stream(graph, None, cfg("i4"), stream_mode="updates")
    assert canon(first + again) == canon(
        [{"before": QQ}, {"__interrupt__": (intr(ASKED),)}, {"__interrupt__": (intr(ASKED),)}]
    )


def test_interrupt_without_checkpointer_stops_without_raising(runner):
    chunks, exc = runner.stream_until_error(make_ask(), Q, stream_mode="updates")
    assert exc is None
    assert canon(chunks) == canon([{"before": QQ}, {"__interrupt__": (intr(ASKED),)}])


def _ask_first(state: AskState) -> dict:
    return {"answer": interrupt("first?")}


def _ask_second(state: AskState) -> dict:
    return {"question": interrupt("second?")}


def make_two_asks():
    b = StateGraph(AskState)
    b.add_node("ask1", _ask_first)
    b.add_node("ask2", _ask_second)
    b.add_edge(START, "ask1")
    b.add_edge(START, "ask2")
    return b.compile(checkpointer=InMemorySaver())


def test_two_parallel_interrupts_give_two_update_values_pairs(runner):
    graph = make_two_asks()
    base = {"question": "q", "answer": ""}
    chunks = runner.stream(graph, base, cfg("pp"), stream_mode=["updates", "values"])
    i1, i2 = intr("first?", "<hex32-1>"), intr("second?", "<hex32-2>")
    expected = [
        ("values", base),
        ("updates", {"__interrupt__": (i1,)}),
        ("values", {**base, "__interrupt__": (i1,)}),
        ("updates", {"__interrupt__": (i2,)}),
        ("values", {**base, "__interrupt__": (i2,)}),
    ]
    assert canon(chunks) == canon(expected)


def test_two_parallel_interrupts_resumed_by_id(runner):
    graph = make_two_asks()
    base = {"question": "q", "answer": ""}
    runner.stream(graph, base, cfg("pp"), stream_mode=["updates", "values"])
    ints = runner.get_state(graph, cfg("pp")).interrupts
    assert [i.value for i in ints] == ["first?", "second?"]
    resume = Command(resume={ints[0].id: "r1", ints[1].id: "r2"})
    chunks = runner.stream(graph, resume, cfg("pp"), stream_mode=["updates", "values"])
    assert chunks == [
        ("values", base),
        ("updates", {"ask1": {"answer": "r1"}}),
        ("updates", {"ask2": {"question": "r2"}}),
        ("values", {"question": "r2", "answer": "r1"}),
    ]


def _sub_ask(state: AskState) -> dict:
    return {"answer": interrupt("from subgraph")}


def make_sub_ask():
    sb = StateGraph(AskState)
    sb.add_node("sub_ask", _sub_ask)
    sb.add_edge(START, "sub_ask")
    pb = StateGraph(AskState)
    pb.add_node("sub", sb.compile())
    pb.add_edge(START, "sub")
    return pb.compile(checkpointer=InMemorySaver())


SUB_IN = {"question": "q", "answer": ""}


def test_interrupt_in_subgraph_emitted_under_sub_ns_then_root(runner):
    graph = make_sub_ask()
    chunks = runner.stream(
        graph, SUB_IN, cfg("si"), stream_mode=["updates", "values"], subgraphs=True
    )
    ns = ("sub:<uuid-1>",)
    i = intr("from subgraph")
    expected = [
        ((), "values", SUB_IN),
        (ns, "values", SUB_IN),
        (ns, "updates", {"__interrupt__": (i,)}),
        (ns, "values", {**SUB_IN, "__interrupt__": (i,)}),
        ((), "updates", {"__interrupt__": (i,)}),
        ((), "values", {**SUB_IN, "__interrupt__": (i,)}),
    ]
    assert canon(chunks) == canon(expected)


def test_interrupt_in_subgraph_resume(runner):
    graph = make_sub_ask()
    first = runner.stream(
        graph, SUB_IN, cfg("si"), stream_mode=["updates", "values"], subgraphs=True
    )
    resumed = runner.stream(
        graph,
        Command(resume="sub-answer"),
        cfg("si"),
        stream_mode=["updates", "values"],
        subgraphs=True,
    )
    ns = first[1][0]
    done = {"question": "q", "answer": "sub-answer"}
    assert resumed == [
        ((), "values", SUB_IN),
        (ns, "values", SUB_IN),
        (ns, "updates", {"sub_ask": {"answer": "sub-answer"}}),
        (ns, "values", done),
        ((), "updates", {"sub": done}),  # the subgraph's full output, unchanged keys included
        ((), "values", done),
    ]


def test_interrupt_in_subgraph_without_subgraphs(runner):
    chunks = runner.stream(make_sub_ask(), SUB_IN, cfg("si"), stream_mode="updates")
    assert canon(chunks) == canon([{"__interrupt__": (intr("from subgraph"),)}])


# ---- exceptions ----------------------------------------------------------------------------
class NumState(TypedDict):
    x: int


def _inc(state: NumState) -> dict:
    return {"x": state["x"] + 1}


def _boom(state: NumState) -> dict:
    raise ValueError("boom!")


def _hundred(state: NumState) -> dict:
    return {"x": 100}


def make_boom(checkpointer=None):
    b = StateGraph(NumState)
    b.add_node("ok1", _inc)
    b.add_node("boom", _boom)
    b.add_edge(START, "ok1")
    b.add_edge("ok1", "boom")
    return b.compile(checkpointer=checkpointer)


def _assert_boom(exc) -> None:
    assert type(exc) is ValueError
    assert exc.args == ("boom!",)


def test_error_values_skips_the_failing_step(runner):
    chunks, exc = runner.stream_until_error(make_boom(), {"x": 0}, stream_mode="values")
    assert chunks == [{"x": 0}, {"x": 1}]
    _assert_boom(exc)


def test_error_updates(runner):
    chunks, exc = runner.stream_until_error(make_boom(), {"x": 0}, stream_mode="updates")
    assert chunks == [{"ok1": {"x": 1}}]
    _assert_boom(exc)


def test_error_values_and_updates(runner):
    chunks, exc = runner.stream_until_error(
        make_boom(), {"x": 0}, stream_mode=["values", "updates"]
    )
    assert chunks == [("values", {"x": 0}), ("updates", {"ok1": {"x": 1}}), ("values", {"x": 1})]
    _assert_boom(exc)


def test_error_tasks_result_carries_the_raised_exception_object(runner):
    chunks, exc = runner.stream_until_error(make_boom(), {"x": 0}, stream_mode="tasks")
    expected = [
        exp_task("<uuid-1>", "ok1", {"x": 0}),
        exp_result("<uuid-1>", "ok1", {"x": 1}),
        exp_task("<uuid-2>", "boom", {"x": 1}),
        exp_result("<uuid-2>", "boom", {}, error=ValueError("boom!")),
    ]
    assert canon(chunks) == canon(expected)
    _assert_boom(exc)
    assert chunks[-1]["error"] is exc


def test_error_debug(runner):
    chunks, exc = runner.stream_until_error(make_boom(), {"x": 0}, stream_mode="debug")
    expected = [
        exp_debug(1, "task", exp_task("<uuid-1>", "ok1", {"x": 0})),
        exp_debug(1, "task_result", exp_result("<uuid-1>", "ok1", {"x": 1})),
        exp_debug(2, "task", exp_task("<uuid-2>", "boom", {"x": 1})),
        exp_debug(2, "task_result", exp_result("<uuid-2>", "boom", {}, error=ValueError("boom!"))),
    ]
    assert canon(chunks) == canon(expected)
    _assert_boom(exc)


def test_error_mixed_modes(runner):
    chunks, exc = runner.stream_until_error(
        make_boom(), {"x": 0}, stream_mode=["values", "updates", "tasks"]
    )
    expected = [
        ("values", {"x": 0}),
        ("tasks", exp_task("<uuid-1>", "ok1", {"x": 0})),
        ("updates", {"ok1": {"x": 1}}),
        ("tasks", exp_result("<uuid-1>", "ok1", {"x": 1})),
        ("values", {"x": 1}),
        ("tasks", exp_task("<uuid-2>", "boom", {"x": 1})),
        ("tasks", exp_result("<uuid-2>", "boom", {}, error=ValueError("boom!"))),
    ]
    assert canon(chunks) == canon(expected)
    _assert_boom(exc)


def test_error_debug_with_checkpointer_has_no_checkpoint_for_failed_step(runner):
    t = "e"
    chunks, exc = runner.stream_until_error(
        make_boom(InMemorySaver()), {"x": 0}, cfg(t), stream_mode=["debug"]
    )
    expected = [
        (
            "debug",
            exp_debug(
                -1,
                "checkpoint",
                exp_checkpoint(
                    exp_config(t, "<uuid-1>"),
                    None,
                    {},
                    -1,
                    ["__start__"],
                    [exp_cp_task("<uuid-2>", "__start__")],
                ),
            ),
        ),
        (
            "debug",
            exp_debug(
                0,
                "checkpoint",
                exp_checkpoint(
                    exp_config(t, "<uuid-3>"),
                    exp_config(t, "<uuid-1>"),
                    {"x": 0},
                    0,
                    ["ok1"],
                    [exp_cp_task("<uuid-4>", "ok1")],
                ),
            ),
        ),
        ("debug", exp_debug(1, "task", exp_task("<uuid-4>", "ok1", {"x": 0}))),
        ("debug", exp_debug(1, "task_result", exp_result("<uuid-4>", "ok1", {"x": 1}))),
        (
            "debug",
            exp_debug(
                1,
                "checkpoint",
                exp_checkpoint(
                    exp_config(t, "<uuid-5>"),
                    exp_config(t, "<uuid-3>"),
                    {"x": 1},
                    1,
                    ["boom"],
                    [exp_cp_task("<uuid-6>", "boom")],
                ),
            ),
        ),
        ("debug", exp_debug(2, "task", exp_task("<uuid-6>", "boom", {"x": 1}))),
        (
            "debug",
            exp_debug(
                2, "task_result", exp_result("<uuid-6>", "boom", {}, error=ValueError("boom!"))
            ),
        ),
    ]
    assert canon(chunks) == canon(expected)
    _assert_boom(exc)


def test_error_state_records_the_error_as_a_string(runner):
    graph = make_boom(InMemorySaver())
    runner.stream_until_error(graph, {"x": 0}, cfg("e"), stream_mode="updates")
    state = runner.get_state(graph, cfg("e"))
    assert state.values == {"x": 1}
    assert state.next == ("boom",)
    assert [(t.name, t.error) for t in state.tasks] == [("boom", "ValueError('boom!')")]


def test_error_retry_with_none_replays_state_then_fails_again(runner):
    graph = make_boom(InMemorySaver())
    runner.stream_until_error(graph, {"x": 0}, cfg("e"), stream_mode="updates")
    chunks, exc = runner.stream_until_error(
        graph, None, cfg("e"), stream_mode=["values", "updates"]
    )
    assert chunks == [("values", {"x": 1})]
    _assert_boom(exc)


def test_error_propagates_from_invoke(runner):
    with pytest.raises(ValueError) as info:
        runner.invoke(make_boom(), {"x": 0})
    _assert_boom(info.value)


def make_parallel_boom():
    b = StateGraph(NumState)
    b.add_node("ok_sibling", _hundred)
    b.add_node("boom", _boom)
    b.add_edge(START, "ok_sibling")
    b.add_edge(START, "boom")
    return b.compile()


def test_error_in_parallel_branch_common_part(runner):
    chunks, exc = runner.stream_until_error(
        make_parallel_boom(), {"x": 0}, stream_mode=["updates", "values", "tasks"]
    )
    _assert_boom(exc)
    expected_prefix = [
        ("values", {"x": 0}),
        ("tasks", exp_task("<uuid-1>", "boom", {"x": 0})),
        ("tasks", exp_task("<uuid-2>", "ok_sibling", {"x": 0})),
        ("tasks", exp_result("<uuid-1>", "boom", {}, error=ValueError("boom!"))),
    ]
    assert canon(chunks)[:4] == canon(expected_prefix)
    # never a values chunk for the failing step
    assert [c for c in chunks[1:] if c[0] == "values"] == []


def test_error_in_parallel_branch_sync_still_reports_successful_sibling(runner):
    if runner.kind != "sync":
        pytest.skip("astream cancels the sibling in the reference; only stream() reports it")
    chunks, exc = runner.stream_until_error(
        make_parallel_boom(), {"x": 0}, stream_mode=["updates", "values", "tasks"]
    )
    _assert_boom(exc)
    expected = [
        ("values", {"x": 0}),
        ("tasks", exp_task("<uuid-1>", "boom", {"x": 0})),
        ("tasks", exp_task("<uuid-2>", "ok_sibling", {"x": 0})),
        ("tasks", exp_result("<uuid-1>", "boom", {}, error=ValueError("boom!"))),
        ("updates", {"ok_sibling": {"x": 100}}),
        ("tasks", exp_result("<uuid-2>", "ok_sibling", {"x": 100})),
    ]
    assert canon(chunks) == canon(expected)


def test_error_in_subgraph_reported_in_sub_ns_then_root(runner):
    sb = StateGraph(NumState)
    sb.add_node("boom", _boom)
    sb.add_edge(START, "boom")
    pb = StateGraph(NumState)
    pb.add_node("ok1", _inc)
    pb.add_node("sub", sb.compile())
    pb.add_edge(START, "ok1")
    pb.add_edge("ok1", "sub")
    chunks, exc = runner.stream_until_error(
        pb.compile(), {"x": 0}, stream_mode=["updates", "tasks"], subgraphs=True
    )
    ns = ("sub:<uuid-2>",)
    expected = [
        ((), "tasks", exp_task("<uuid-1>", "ok1", {"x": 0})),
        ((), "updates", {"ok1": {"x": 1}}),
        ((), "tasks", exp_result("<uuid-1>", "ok1", {"x": 1})),
        ((), "tasks", exp_task("<uuid-2>", "sub", {"x": 1})),
        (ns, "tasks", exp_task("<uuid-3>", "boom", {"x": 1})),
        (ns, "tasks", exp_result("<uuid-3>", "boom", {}, error=ValueError("boom!"))),
        ((), "tasks", exp_result("<uuid-2>", "sub", {}, error=ValueError("boom!"))),
    ]
    assert canon(chunks) == canon(expected)
    _assert_boom(exc)


# ---- recursion limit -----------------------------------------------------------------------
def recursion_message(limit: int) -> str:
    return (
        f"Recursion limit of {limit} reached without hitting a stop condition. You can increase "
        "the limit by setting the `recursion_limit` config key.\n"
        "For troubleshooting, visit: "
        "https://docs.langchain.com/oss/python/langgraph/errors/GRAPH_RECURSION_LIMIT"
    )


def make_loop():
    b = StateGraph(NumState)
    b.add_node("loop_node", _inc)
    b.add_edge(START, "loop_node")
    b.add_edge("loop_node", "loop_node")
    return b.compile()


def test_recursion_limit_streams_allowed_steps_then_raises(runner):
    chunks, exc = runner.stream_until_error(
        make_loop(), {"x": 0}, {"recursion_limit": 3}, stream_mode=["values", "updates"]
    )
    assert chunks == [
        ("values", {"x": 0}),
        ("updates", {"loop_node": {"x": 1}}),
        ("values", {"x": 1}),
        ("updates", {"loop_node": {"x": 2}}),
        ("values", {"x": 2}),
        ("updates", {"loop_node": {"x": 3}}),
        ("values", {"x": 3}),
    ]
    assert isinstance(exc, GraphRecursionError)
    assert str(exc) == recursion_message(3)


def test_recursion_limit_one(runner):
    chunks, exc = runner.stream_until_error(
        make_loop(), {"x": 0}, {"recursion_limit": 1}, stream_mode="updates"
    )
    assert chunks == [{"loop_node": {"x": 1}}]
    assert isinstance(exc, GraphRecursionError)
    assert str(exc) == recursion_message(1)


def test_recursion_limit_zero_rejected_before_anything_is_yielded(runner):
    chunks, exc = runner.stream_until_error(make_loop(), {"x": 0}, {"recursion_limit": 0})
    assert chunks == []
    assert type(exc) is ValueError
    assert str(exc) == "recursion_limit must be at least 1"


def make_chain(n: int):
    b = StateGraph(NumState)
    prev = START
    for i in range(n):
        b.add_node(f"n{i}", _inc)
        b.add_edge(prev, f"n{i}")
        prev = f"n{i}"
    b.add_edge(prev, END)
    return b.compile()


@pytest.mark.parametrize("n", [1, 2, 3])
def test_chain_of_n_nodes_fails_with_limit_n(runner, n):
    chunks, exc = runner.stream_until_error(
        make_chain(n), {"x": 0}, {"recursion_limit": n}, stream_mode="updates"
    )
    assert chunks == [{f"n{i}": {"x": i + 1}} for i in range(n)]
    assert isinstance(exc, GraphRecursionError)
    assert str(exc) == recursion_message(n)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_chain_of_n_nodes_succeeds_with_limit_n_plus_one(runner, n):
    chunks = runner.stream(
        make_chain(n), {"x": 0}, {"recursion_limit": n + 1}, stream_mode="updates"
    )
    assert chunks == [{f"n{i}": {"x": i + 1}} for i in range(n)]


def test_two_node_chain_with_limit_one_runs_one_node(runner):
    chunks, exc = runner.stream_until_error(
        make_chain(2), {"x": 0}, {"recursion_limit": 1}, stream_mode="updates"
    )
    assert chunks == [{"n0": {"x": 1}}]
    assert isinstance(exc, GraphRecursionError)


# ---- odd return values ---------------------------------------------------------------------
class LogState(TypedDict):
    x: int
    log: Annotated[list, operator.add]


def _single(name: str, fn, state_cls=NumState):
    b = StateGraph(state_cls)
    b.add_node(name, fn)
    b.add_edge(START, name)
    return b.compile()


def _two_commands(state: NumState) -> list:
    # annotated with the narrower NumState: the task input then only holds 'x'
    return [Command(update={"log": ["one"]}), Command(update={"log": ["two"], "x": 5})]


def test_one_task_writing_a_channel_twice(runner):
    graph = _single("ret_command_list", _two_commands, LogState)
    chunks = runner.stream(graph, {"x": 0, "log": []}, stream_mode=["values", "updates", "tasks"])
    expected = [
        ("values", {"x": 0, "log": []}),
        ("tasks", exp_task("<uuid-1>", "ret_command_list", {"x": 0})),
        ("updates", {"ret_command_list": [{"log": ["one"]}, {"log": ["two"]}, {"x": 5}]}),
        (
            "tasks",
            exp_result(
                "<uuid-1>", "ret_command_list", {"log": {"$writes": [["one"], ["two"]]}, "x": 5}
            ),
        ),
        ("values", {"x": 5, "log": ["one", "two"]}),
    ]
    assert canon(chunks) == canon(expected)


def _tuple_updates(state: NumState) -> Command:
    return Command(update=[("log", "t1"), ("log", "t2")])


def test_reducer_error_propagates_without_a_task_result(runner):
    if not REFERENCE_RUN:
        pytest.skip("relaygraph reports the task's writes before the reducer runs; see next test")
    graph = _single("ret_list_of_tuples_like", _tuple_updates, LogState)
    chunks, exc = runner.stream_until_error(
        graph, {"x": 0, "log": []}, stream_mode=["values", "updates", "tasks"]
    )
    expected = [
        ("values", {"x": 0, "log": []}),
        ("tasks", exp_task("<uuid-1>", "ret_list_of_tuples_like", {"x": 0})),
    ]
    assert canon(chunks) == canon(expected)
    assert type(exc) is TypeError
    assert str(exc) == 'can only concatenate list (not "str") to list'


@pytest.mark.divergence
def test_reducer_error_surfaces_after_the_task_reports_its_writes(runner):
    """relaygraph emits a finished task's update and result as it completes; a reducer
    that rejects the write fails the step afterwards, with the reducer's own exception."""
    graph = _single("ret_list_of_tuples_like", _tuple_updates, LogState)
    chunks, exc = runner.stream_until_error(
        graph, {"x": 0, "log": []}, stream_mode=["values", "updates", "tasks"]
    )
    assert [c[0] for c in chunks] == ["values", "tasks", "updates", "tasks"]
    assert chunks[2] == ("updates", {"ret_list_of_tuples_like": [{"log": "t1"}, {"log": "t2"}]})
    assert type(exc) is TypeError
    assert str(exc) == 'can only concatenate list (not "str") to list'


def _ret_none(state: NumState):
    return None


def _ret_empty(state: NumState) -> dict:
    return {}


def _ret_unknown(state: NumState) -> dict:
    return {"nope": 1}


@pytest.mark.parametrize(
    ("name", "fn"),
    [("ret_none", _ret_none), ("ret_empty", _ret_empty), ("ret_unknown_key", _ret_unknown)],
)
def test_node_writing_nothing(runner, name, fn):
    chunks, exc = runner.stream_until_error(
        _single(name, fn), {"x": 0}, stream_mode=["values", "updates", "tasks"]
    )
    assert exc is None
    expected = [
        ("values", {"x": 0}),
        ("tasks", exp_task("<uuid-1>", name, {"x": 0})),
        ("updates", {name: None}),
        ("tasks", exp_result("<uuid-1>", name, {})),
        # no values chunk: the step wrote nothing
    ]
    assert canon(chunks) == canon(expected)


def _ret_str(state: NumState):
    return "not a dict"


def _ret_int(state: NumState):
    return 5


def _ret_list(state: NumState):
    return [{"x": 1}]


def invalid_return_message(shown: str) -> str:
    return (
        f"Expected dict, got {shown}\n"
        "For troubleshooting, visit: "
        "https://docs.langchain.com/oss/python/langgraph/errors/INVALID_GRAPH_NODE_RETURN_VALUE"
    )


@pytest.mark.parametrize(
    ("name", "fn", "shown"),
    [
        ("ret_str", _ret_str, "not a dict"),
        ("ret_int", _ret_int, "5"),
        ("ret_list", _ret_list, "[{'x': 1}]"),
    ],
)
def test_node_returning_a_non_dict(runner, name, fn, shown):
    chunks, exc = runner.stream_until_error(
        _single(name, fn), {"x": 0}, stream_mode=["values", "updates", "tasks"]
    )
    assert isinstance(exc, InvalidUpdateError)
    assert str(exc) == invalid_return_message(shown)
    assert [c[0] for c in chunks] == ["values", "tasks", "tasks"]
    assert chunks[0] == ("values", {"x": 0})
    result = chunks[2][1]
    assert list(result) == ["id", "name", "error", "result", "interrupts"]
    assert result["name"] == name
    assert isinstance(result["error"], InvalidUpdateError)
    assert str(result["error"]) == invalid_return_message(shown)
    assert result["result"] == {}
    assert result["interrupts"] == []


def _ret_mixed(state: NumState) -> dict:
    return {"x": 7, "nope": 1}


def test_unknown_keys_are_dropped_from_updates(runner):
    chunks = runner.stream(
        _single("ret_mixed", _ret_mixed), {"x": 0}, stream_mode=["values", "updates", "tasks"]
    )
    expected = [
        ("values", {"x": 0}),
        ("tasks", exp_task("<uuid-1>", "ret_mixed", {"x": 0})),
        ("updates", {"ret_mixed": {"x": 7}}),
        ("tasks", exp_result("<uuid-1>", "ret_mixed", {"x": 7})),
        ("values", {"x": 7}),
    ]
    assert canon(chunks) == canon(expected)


# ---- input edge cases ----------------------------------------------------------------------


def test_input_keys_outside_the_schema_are_dropped(runner):
    chunks, exc = runner.stream_until_error(make_boom(), {"x": 0, "zzz": 1}, stream_mode=["values"])
    assert chunks == [("values", {"x": 0}), ("values", {"x": 1})]
    _assert_boom(exc)


def test_empty_input_writes_nothing_so_no_first_values_chunk(runner):
    # the node then reads a key that was never set
    chunks, exc = runner.stream_until_error(make_chain(2), {}, stream_mode=["values", "updates"])
    assert chunks == []
    assert type(exc) is KeyError
    assert exc.args == ("x",)


def test_none_input_without_checkpoint_raises_empty_input(runner):
    chunks, exc = runner.stream_until_error(make_chain(2), None, stream_mode=["values", "updates"])
    assert chunks == []
    assert isinstance(exc, EmptyInputError)
    assert str(exc) == "Received no input for __start__"
