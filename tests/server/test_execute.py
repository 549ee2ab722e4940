"""``RunExecutor``: how a claimed run is handed to the engine, without a server around it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from relaygraph.server.runs._execute import RunExecutor


class RecordingGraph:
    """Stands in for a compiled graph: records what ``astream`` was asked for."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any], dict[str, Any]]] = []

    async def astream(
        self, graph_input: Any, config: dict[str, Any], **kwargs: Any
    ) -> AsyncIterator[Any]:
        self.calls.append((graph_input, config, kwargs))
        for item in ():
            yield item


def _run(attempt: int) -> dict[str, Any]:
    return {
        "run_id": "r",
        "attempt": attempt,
        "kwargs": {
            "input": {"topic": "x"},
            "stream_mode": ["updates"],
            "config": {
                "configurable": {"thread_id": "t", "checkpoint_id": "forked-from"},
                "metadata": {"run_attempt": 1},
            },
        },
    }


async def _stream(run: dict[str, Any], *, resume: bool) -> tuple[Any, dict[str, Any]]:
    graph = RecordingGraph()
    executor = RunExecutor.__new__(RunExecutor)  # _stream needs none of its collaborators
    await executor._stream(graph, run, lambda name, data: None, resume=resume)
    graph_input, config, _ = graph.calls[0]
    return graph_input, config


async def test_a_first_attempt_forks_from_the_requested_checkpoint() -> None:
    graph_input, config = await _stream(_run(1), resume=False)
    assert graph_input == {"topic": "x"}
    assert config["configurable"]["checkpoint_id"] == "forked-from"


async def test_a_resumed_attempt_goes_on_from_the_threads_latest_checkpoint() -> None:
    # the first attempt already wrote checkpoints after the fork point: starting from the
    # fork point again would run its steps twice and drop what they wrote
    run = _run(2)
    graph_input, config = await _stream(run, resume=True)
    assert graph_input is None
    assert "checkpoint_id" not in config["configurable"]
    assert config["configurable"]["thread_id"] == "t"
    assert config["metadata"]["run_attempt"] == 2
    assert run["kwargs"]["config"]["configurable"]["checkpoint_id"] == "forked-from"
