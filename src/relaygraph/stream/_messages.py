"""``messages`` mode: LLM tokens via LangChain callbacks, plus messages nodes return.

(Placeholder: filled in by the messages-mode work.)
"""

from __future__ import annotations

from typing import Any


def attach_messages_handler(loop: Any, task: Any, config: dict[str, Any]) -> None:
    return None


def emit_returned_messages(loop: Any, task: Any) -> None:
    return None
