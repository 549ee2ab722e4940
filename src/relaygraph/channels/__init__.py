"""State channels: how one key of the state takes writes within a super-step.

One module per kind: ``LastValue`` (plain keys), ``BinaryOperatorAggregate`` (reducers),
``EphemeralValue`` (edge triggers), ``NamedBarrierValue`` (many-to-one joins) and
``Topic`` (Send packets).
"""

from __future__ import annotations

from relaygraph.channels.barrier import NamedBarrierValue
from relaygraph.channels.base import BaseChannel
from relaygraph.channels.binop import BinaryOperatorAggregate
from relaygraph.channels.ephemeral import EphemeralValue
from relaygraph.channels.last_value import LastValue
from relaygraph.channels.topic import Topic

__all__ = [
    "BaseChannel",
    "BinaryOperatorAggregate",
    "EphemeralValue",
    "LastValue",
    "NamedBarrierValue",
    "Topic",
]
