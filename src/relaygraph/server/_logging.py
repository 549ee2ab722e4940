"""Structured logging: one JSON object per line on stderr, for the server and uvicorn alike."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timezone
from typing import Any

from relaygraph.server import _json

__all__ = ["JsonFormatter", "configure_logging", "log_config"]

_STANDARD = frozenset(vars(logging.makeLogRecord({})))


class JsonFormatter(logging.Formatter):
    """``{"ts", "level", "logger", "msg", ...extra}``; exceptions under ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in ("message", "color_message"):
                doc[key] = value
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return _json.dumps(doc).decode()


def log_config(level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict routing ``relaygraph`` and ``uvicorn`` through
    ``JsonFormatter`` (pass it to uvicorn as ``log_config``)."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"default": handler},
        "loggers": {
            name: {"handlers": ["default"], "level": level.upper(), "propagate": False}
            for name in ("relaygraph", "uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(level: str = "info") -> None:
    """Apply ``log_config`` to this process."""
    import logging.config

    logging.config.dictConfig(log_config(level))
    logging.getLogger("relaygraph").debug("logging configured", extra={"stream": sys.stderr.name})
