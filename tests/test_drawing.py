"""``get_graph()``: nodes, edges and Mermaid text of compiled graphs.

The expected Mermaid texts are what LangGraph's ``get_graph().draw_mermaid()`` prints for
the same graphs, so the drawings match the reference's line for line.
"""

from __future__ import annotations

import asyncio
import builtins
import operator
from typing import Annotated, Any, Literal, TypedDict

import pytest

from relaygraph.graph import END, START, StateGraph
from relaygraph.graph._drawing import CurveStyle, Graph, NodeStyles
from relaygraph.types import Command, Send

HEADER = "---\nconfig:\n  flowchart:\n    curve: linear\n---\ngraph TD;\n"
FOOTER = (
    "\tclassDef default fill:#f2f0ff,line-height:1.2\n"
    "\tclassDef first fill-opacity:0\n"
    "\tclassDef last fill:#bfb6fc\n"
)


class State(TypedDict, total=False):
    log: Annotated[list, operator.add]


def noop(state: State) -> dict[str, Any]:
    return {}


def mermaid(*lines: str) -> str:
    return HEADER + "".join(f"\t{line}\n" for line in lines) + FOOTER


def edges_of(view: Graph) -> list[tuple[str, str, str | None, bool]]:
    return [(e.source, e.target, e.data, e.conditional) for e in view.edges]


def sequence() -> Any:
    builder = StateGraph(State)
    builder.add_node("a", noop)
    builder.add_node("b", noop)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", END)
    return builder.compile()


def test_sequence_nodes_edges_and_mermaid() -> None:
    view = sequence().get_graph()

    assert list(view.nodes) == ["__start__", "a", "b", "__end__"]
    node = view.nodes["a"]
    assert (node.id, node.name, node.metadata) == ("a", "a", None)
    assert node.data is not None
    assert view.nodes["__end__"].data is None
    assert edges_of(view) == [
        ("__start__", "a", None, False),
        ("a", "b", None, False),
        ("b", "__end__", None, False),
    ]
    assert view.draw_mermaid() == mermaid(
        "__start__([<p>__start__</p>]):::first",
        "a(a)",
        "b(b)",
        "__end__([<p>__end__</p>]):::last",
        "__start__ --> a;",
        "a --> b;",
        "b --> __end__;",
    )


def test_node_without_way_out_gets_an_edge_to_end() -> None:
    builder = StateGraph(State)
    builder.add_node("a", noop)
    builder.add_edge(START, "a")

    assert edges_of(builder.compile().get_graph()) == [
        ("__start__", "a", None, False),
        ("a", "__end__", None, False),
    ]


def test_conditional_edges_with_path_map_labels() -> None:
    builder = StateGraph(State)
    for name in "abc":
        builder.add_node(name, noop)

    def route(state: State) -> str:
        return "go"

    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route, {"go": "b", "stop": END, "c": "c"})
    builder.add_edge("b", END)
    builder.add_edge("c", END)
    view = builder.compile().get_graph()

    assert edges_of(view) == [
        ("__start__", "a", None, False),
        ("a", "__end__", "stop", True),
        ("a", "b", "go", True),
        ("a", "c", None, True),
        ("b", "__end__", None, False),
        ("c", "__end__", None, False),
    ]
    assert view.draw_mermaid() == mermaid(
        "__start__([<p>__start__</p>]):::first",
        "a(a)",
        "b(b)",
        "c(c)",
        "__end__([<p>__end__</p>]):::last",
        "__start__ --> a;",
        "a -. &nbsp;stop&nbsp; .-> __end__;",
        "a -. &nbsp;go&nbsp; .-> b;",
        "a -.-> c;",
        "b --> __end__;",
        "c --> __end__;",
    )


def test_conditional_entry_with_list_path_map() -> None:
    builder = StateGraph(State)
    builder.add_node("a", noop)
    builder.add_node("b", noop)
    builder.add_conditional_edges(START, lambda s: "a", ["a", "b"])
    builder.add_edge("a", "b")

    assert builder.compile().get_graph().draw_mermaid() == mermaid(
        "__start__([<p>__start__</p>]):::first",
        "a(a)",
        "b(b)",
        "__end__([<p>__end__</p>]):::last",
        "__start__ -.-> a;",
        "__start__ -.-> b;",
        "a --> b;",
        "b --> __end__;",
    )


def test_branch_without_known_ends_and_unreachable_node() -> None:
    # No path_map and no Literal hint: nothing is known about where it goes, so "a" ends
    # the drawing; "b" is never reached, its edges are not drawn, and no node is "first".
    builder = StateGraph(State)
    builder.add_node("a", noop)
    builder.add_node("b", noop)

    def route(state: State) -> str:
        return "b"

    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route)
    builder.add_edge("b", END)

    assert builder.compile().get_graph().draw_mermaid() == mermaid(
        "__start__(<p>__start__</p>)",
        "a(a)",
        "b(b)",
        "__end__(<p>__end__</p>)",
        "__start__ --> a;",
        "a --> __end__;",
    )


def test_literal_return_hint_gives_branch_ends() -> None:
    builder = StateGraph(State)
    for name in "abc":
        builder.add_node(name, noop)

    def route(state: State) -> Literal["b", "c", "__end__"]:
        return "b"

    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", route)

    assert edges_of(builder.compile().get_graph()) == [
        ("__start__", "a", None, False),
        ("a", "__end__", None, True),
        ("a", "b", None, True),
        ("a", "c", None, True),
        ("b", "__end__", None, False),
        ("c", "__end__", None, False),
    ]


def test_command_destinations_are_dotted_edges() -> None:
    builder = StateGraph(State)

    def a(state: State) -> Command[Literal["b", "c"]]:
        return Command(goto="b")

    builder.add_node("a", a)
    builder.add_node("b", noop)
    builder.add_node("c", noop, destinations=("b",))
    builder.add_edge(START, "a")

    assert edges_of(builder.compile().get_graph()) == [
        ("__start__", "a", None, False),
        ("a", "b", None, True),
        ("a", "c", None, True),
        ("c", "b", None, True),
        ("b", "__end__", None, False),
    ]


def test_fan_out_and_join() -> None:
    builder = StateGraph(State)
    for name in "abc":
        builder.add_node(name, noop)
    builder.add_edge(START, "a")
    builder.add_edge(START, "b")
    builder.add_edge(["a", "b"], "c")
    builder.add_edge("c", END)

    assert builder.compile().get_graph().draw_mermaid() == mermaid(
        "__start__([<p>__start__</p>]):::first",
        "a(a)",
        "b(b)",
        "c(c)",
        "__end__([<p>__end__</p>]):::last",
        "__start__ --> a;",
        "__start__ --> b;",
        "a --> c;",
        "b --> c;",
        "c --> __end__;",
    )


def test_cycle_and_send_only_graphs_end_at_their_last_step() -> None:
    cycle = StateGraph(State)
    cycle.add_node("a", noop)
    cycle.add_node("b", noop)
    cycle.add_edge(START, "a")
    cycle.add_edge("a", "b")
    cycle.add_edge("b", "a")
    sends = StateGraph(State)
    sends.add_node("w", noop)
    sends.add_conditional_edges(START, lambda s: [Send("w", {})])

    assert edges_of(cycle.compile().get_graph())[-1] == ("b", "__end__", None, True)
    assert edges_of(sends.compile().get_graph()) == [("__start__", "__end__", None, True)]


def test_metadata_interrupts_and_defer_in_labels() -> None:
    builder = StateGraph(State)
    builder.add_node("a", noop, metadata={"k": "v", "n": 1})
    builder.add_node("b", noop, defer=True)
    builder.add_node("c", noop)
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    view = builder.compile(interrupt_before=["a"], interrupt_after=["a", "c"]).get_graph()

    assert {k: n.metadata for k, n in view.nodes.items() if n.metadata} == {
        "a": {"k": "v", "n": 1, "__interrupt": "before,after"},
        "b": {"defer": True},
        "c": {"__interrupt": "after"},
    }
    assert view.draw_mermaid() == mermaid(
        "__start__([<p>__start__</p>]):::first",
        "a(a<hr/><small><em>k = v\nn = 1\n__interrupt = before,after</em></small>)",
        "b(b<hr/><small><em>defer = True</em></small>)",
        "c(c<hr/><small><em>__interrupt = after</em></small>)",
        "__end__([<p>__end__</p>]):::last",
        "__start__ --> a;",
        "a --> b;",
        "b --> c;",
        "c --> __end__;",
    )


def test_ids_are_escaped_and_long_labels_wrap() -> None:
    builder = StateGraph(State)
    builder.add_node("my node", noop)
    builder.add_node("n-2", noop)
    builder.add_edge(START, "my node")
    long_label = "this is a very long label with more than nine words in it ok"
    builder.add_conditional_edges("my node", lambda s: "x", {long_label: "n-2", "[odd]": END})

    assert builder.compile().get_graph().draw_mermaid() == mermaid(
        "__start__([<p>__start__</p>]):::first",
        "my\\20node(my node)",
        "n-2(n-2)",
        "__end__([<p>__end__</p>]):::last",
        "__start__ --> my\\20node;",
        "my\\20node -. &nbsp;[odd]&nbsp; .-> __end__;",
        "my\\20node -. &nbsp;this is a very long label with more than&nbsp<br>&nbspnine words"
        " in it ok&nbsp; .-> n-2;",
        "n-2 --> __end__;",
    )


def _parent_with_subgraph() -> Any:
    sub = StateGraph(State)
    sub.add_node("s1", noop)
    sub.add_node("s2", noop)
    sub.add_edge(START, "s1")
    sub.add_edge("s1", "s2")
    parent = StateGraph(State)
    parent.add_node("pre", noop)
    parent.add_node("child", sub.compile())
    parent.add_edge(START, "pre")
    parent.add_edge("pre", "child")
    parent.add_edge("child", END)
    return parent.compile()


def test_subgraph_is_one_node_without_xray() -> None:
    view = _parent_with_subgraph().get_graph()

    assert list(view.nodes) == ["__start__", "pre", "child", "__end__"]
    assert hasattr(view.nodes["child"].data, "get_graph")
    assert edges_of(view)[1:] == [("pre", "child", None, False), ("child", "__end__", None, False)]


def test_xray_expands_subgraph() -> None:
    view = _parent_with_subgraph().get_graph(xray=True)

    assert list(view.nodes) == ["__start__", "pre", "__end__", "child:s1", "child:s2"]
    assert view.nodes["child:s1"].name == "s1"
    assert edges_of(view) == [
        ("__start__", "pre", None, False),
        ("pre", "child:s1", None, False),
        ("child:s2", "__end__", None, False),
        ("child:s1", "child:s2", None, False),
    ]
    assert (
        view.draw_mermaid()
        == HEADER
        + (
            "\t__start__([<p>__start__</p>]):::first\n"
            "\tpre(pre)\n"
            "\t__end__([<p>__end__</p>]):::last\n"
            "\t__start__ --> pre;\n"
            "\tpre --> child\\3as1;\n"
            "\tchild\\3as2 --> __end__;\n"
            "\tsubgraph child\n"
            "\tchild\\3as1(s1)\n"
            "\tchild\\3as2(s2)\n"
            "\tchild\\3as1 --> child\\3as2;\n"
            "\tend\n"
        )
        + FOOTER
    )


def _two_levels() -> Any:
    inner = StateGraph(State)
    inner.add_node("x1", noop)
    inner.add_node("x2", noop)
    inner.add_edge(START, "x1")
    inner.add_edge("x1", "x2")
    middle = StateGraph(State)
    middle.add_node("inner", inner.compile())
    middle.add_node("y", noop)
    middle.add_edge(START, "inner")
    middle.add_edge("inner", "y")
    outer = StateGraph(State)
    outer.add_node("outer", middle.compile())
    outer.add_node("z", noop)
    outer.add_edge(START, "outer")
    outer.add_edge("outer", "z")
    return outer.compile()


def test_xray_depth() -> None:
    graph = _two_levels()

    one = graph.get_graph(xray=1)
    every = graph.get_graph(xray=True)

    assert [n for n in one.nodes if ":" in n] == ["outer:inner", "outer:y"]
    assert [n for n in every.nodes if ":" in n] == ["outer:y", "outer:inner:x1", "outer:inner:x2"]
    assert graph.get_graph(xray=2).draw_mermaid() == every.draw_mermaid()
    assert (
        every.draw_mermaid()
        == HEADER
        + (
            "\t__start__([<p>__start__</p>]):::first\n"
            "\tz(z)\n"
            "\t__end__([<p>__end__</p>]):::last\n"
            "\t__start__ --> outer\\3ainner\\3ax1;\n"
            "\touter\\3ay --> z;\n"
            "\tz --> __end__;\n"
            "\tsubgraph outer\n"
            "\touter\\3ay(y)\n"
            "\touter\\3ainner\\3ax2 --> outer\\3ay;\n"
            "\tsubgraph inner\n"
            "\touter\\3ainner\\3ax1(x1)\n"
            "\touter\\3ainner\\3ax2(x2)\n"
            "\touter\\3ainner\\3ax1 --> outer\\3ainner\\3ax2;\n"
            "\tend\n"
            "\tend\n"
        )
        + FOOTER
    )


def test_xray_keeps_subgraph_end_when_it_is_reached_conditionally() -> None:
    sub = StateGraph(State)
    sub.add_node("p", noop)
    sub.add_node("q", noop)
    sub.add_edge(START, "p")
    sub.add_conditional_edges("p", lambda s: "q", {"go": "q", "stop": END})
    parent = StateGraph(State)
    parent.add_node("sub", sub.compile())
    parent.add_edge(START, "sub")
    parent.add_edge("sub", END)

    view = parent.compile().get_graph(xray=True)

    assert edges_of(view) == [
        ("__start__", "sub:p", None, False),
        ("sub:__end__", "__end__", None, False),
        ("sub:p", "sub:__end__", "stop", True),
        ("sub:p", "sub:q", "go", True),
        ("sub:q", "sub:__end__", None, False),
    ]


def _markdown_named() -> Graph:
    builder = StateGraph(State)
    builder.add_node("_hidden_", noop)
    builder.add_node("n2", noop)
    builder.add_edge(START, "_hidden_")
    builder.add_edge(START, "n2")
    return builder.compile().get_graph()


def test_draw_options() -> None:
    view = _markdown_named()

    assert view.draw_mermaid(with_styles=False) == (
        "graph TD;\n"
        "\t__start__ --> _hidden_;\n"
        "\t__start__ --> n2;\n"
        "\t_hidden_ --> __end__;\n"
        "\tn2 --> __end__;\n"
    )
    text = view.draw_mermaid(
        curve_style=CurveStyle.BASIS,
        node_colors=NodeStyles(default="fill:#fff", first="fill:#000", last="fill:#111"),
        frontmatter_config={
            "config": {"theme": "neutral", "themeVariables": {"primaryColor": "#e2e2e2"}}
        },
    )
    assert text.startswith(
        "---\nconfig:\n  flowchart:\n    curve: basis\n  theme: neutral\n"
        "  themeVariables:\n    primaryColor: '#e2e2e2'\n---\ngraph TD;\n"
        "\t__start__([<p>__start__</p>]):::first\n\t_hidden_(<p>_hidden_</p>)\n"
    )
    assert text.endswith(
        "\tclassDef default fill:#fff\n\tclassDef first fill:#000\n\tclassDef last fill:#111\n"
    )


def test_front_matter_without_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_yaml(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "yaml":
            raise ImportError("no yaml")
        return real_import(name, *args, **kwargs)

    view = _markdown_named()
    config = {"config": {"theme": "neutral", "themeVariables": {"primaryColor": "#e2e2e2"}}}
    expected = view.draw_mermaid(frontmatter_config=config)
    monkeypatch.setattr(builtins, "__import__", no_yaml)

    assert view.draw_mermaid(frontmatter_config=config) == expected


@pytest.mark.divergence  # LangChain also puts the node class's import path in ``data["id"]``
def test_to_json() -> None:
    builder = StateGraph(State)
    builder.add_node("a", noop)
    builder.add_node("b", noop)
    builder.add_edge(START, "a")
    builder.add_conditional_edges("a", lambda s: "b", {"yes": "b", "no": END})

    assert builder.compile().get_graph().to_json() == {
        "nodes": [
            {"id": "__start__", "type": "runnable", "data": {"name": "__start__"}},
            {"id": "a", "type": "runnable", "data": {"name": "a"}},
            {"id": "b", "type": "runnable", "data": {"name": "b"}},
            {"id": "__end__"},
        ],
        "edges": [
            {"source": "__start__", "target": "a"},
            {"source": "a", "target": "__end__", "data": "no", "conditional": True},
            {"source": "a", "target": "b", "data": "yes", "conditional": True},
            {"source": "b", "target": "__end__"},
        ],
    }


@pytest.mark.divergence  # as test_to_json
def test_xray_to_json_names_nodes_by_their_ids() -> None:
    nodes = _parent_with_subgraph().get_graph(xray=True).to_json()["nodes"]

    assert [n["id"] for n in nodes] == ["__start__", "pre", "__end__", "child:s1", "child:s2"]
    assert nodes[3]["data"] == {"name": "child:s1"}


def test_first_and_last_nodes_and_trimming() -> None:
    view = sequence().get_graph()

    assert view.first_node() is not None and view.first_node().id == "__start__"  # type: ignore[union-attr]
    assert view.last_node() is not None and view.last_node().id == "__end__"  # type: ignore[union-attr]
    view.trim_first_node()
    view.trim_last_node()
    assert list(view.nodes) == ["a", "b"]
    assert edges_of(view) == [("a", "b", None, False)]


def test_aget_graph_matches_get_graph() -> None:
    graph = _parent_with_subgraph()

    view = asyncio.run(graph.aget_graph(xray=True))

    assert view.draw_mermaid() == graph.get_graph(xray=True).draw_mermaid()
