"""A graph for the scale-out tests and bench (``bench/bench_scaleout.py``): ``n`` steps of ``sleep`` seconds, one tick each, so a run
lasts long enough to be joined, cancelled, or have its worker killed."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, TypedDict

from relaygraph.config import get_stream_writer
from relaygraph.graph import END, START, StateGraph


class TickerState(TypedDict, total=False):
    n: int
    sleep: float
    ticks: Annotated[list[int], operator.add]


async def tick(state: TickerState) -> TickerState:
    i = len(state.get("ticks") or [])
    get_stream_writer()({"tick": i})
    await asyncio.sleep(state.get("sleep", 0.05))
    return {"ticks": [i]}


def more(state: TickerState) -> str:
    return "tick" if len(state.get("ticks") or []) < state.get("n", 10) else END


ticker = (
    StateGraph(TickerState)
    .add_node(tick)
    .add_edge(START, "tick")
    .add_conditional_edges("tick", more, ["tick", END])
    .compile()
)
