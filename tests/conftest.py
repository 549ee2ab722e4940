from __future__ import annotations

import pytest

from tests.helpers import Runner


@pytest.fixture(params=["sync", "async"])
def runner(request: pytest.FixtureRequest) -> Runner:
    """Runs the test once through ``stream``/``invoke`` and once through ``astream``/``ainvoke``."""
    return Runner(request.param)


REFERENCE_RUN = __import__("os").environ.get("RELAYGRAPH_REFERENCE") == "1"
"""Set when the suite is pointed at the reference (a shim mapping relaygraph onto langgraph)
to check that the tests themselves describe the reference's behaviour."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not REFERENCE_RUN:
        return
    skip = pytest.mark.skip(reason="deliberate difference from the reference")
    for item in items:
        if "divergence" in item.keywords:
            item.add_marker(skip)
