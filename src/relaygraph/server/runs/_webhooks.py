"""Webhook delivery: when a run that named a ``webhook`` ends, POST it there.

The body is the run as the API shows it, plus ``values`` (the thread's state after the
run), ``error`` (the error recorded on the thread when the run failed, else ``None``) and
``webhook_sent_at``. Delivery happens off the run's path, retried with backoff on network
errors and 5xx answers; at most ``max_in_flight`` deliveries are pending at once (more are
dropped with a log line rather than held in memory without bound).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from relaygraph.server import _json
from relaygraph.server._ids import now_iso
from relaygraph.server._resources import run_json
from relaygraph.server.storage import Row, Storage

__all__ = ["WebhookSender"]

logger = logging.getLogger("relaygraph.server.webhooks")


class WebhookSender:
    """Delivers run-completion webhooks in background tasks."""

    def __init__(
        self,
        storage: Storage,
        *,
        attempts: int = 3,
        backoff_s: float = 0.5,
        timeout_s: float = 10.0,
        max_in_flight: int = 1000,
    ) -> None:
        self.storage = storage
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self.max_in_flight = max_in_flight
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: Any = None

    async def run_ended(self, run: Row) -> None:
        """Schedule delivery for ``run`` if it names a webhook (its body is read now, before
        a temporary thread is deleted)."""
        url = (run.get("kwargs") or {}).get("webhook")
        if not isinstance(url, str) or not url:
            return
        if len(self._tasks) >= self.max_in_flight:
            logger.warning("webhook dropped: too many in flight", extra={"run_id": run["run_id"]})
            return
        task = asyncio.ensure_future(self._deliver(url, run, await self._payload(run)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _payload(self, run: Row) -> dict[str, Any]:
        current = await self.storage.get_run(run["run_id"]) or run
        thread = await self.storage.get_thread(run["thread_id"]) or {}
        body = run_json(current)
        body["values"] = thread.get("values")
        body["error"] = thread.get("error") if current.get("status") == "error" else None
        body["webhook_sent_at"] = now_iso()
        return body

    async def _deliver(self, url: str, run: Row, payload: dict[str, Any]) -> None:
        import httpx

        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self.timeout_s)
        body = _json.dumps(payload)
        headers = {"content-type": "application/json"}
        for attempt in range(1, self.attempts + 1):
            try:
                response = await self._client.post(url, content=body, headers=headers)
                if response.status_code < 500:
                    logger.info(
                        "webhook sent",
                        extra={"run_id": run["run_id"], "status": response.status_code},
                    )
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = repr(exc)
            if attempt < self.attempts:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
        logger.warning(
            "webhook failed", extra={"run_id": run["run_id"], "url": url, "error": problem}
        )

    async def close(self) -> None:
        """Wait briefly for deliveries in flight, then stop."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.timeout_s)
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
