"""Process counters, served at ``/metrics`` in the Prometheus text format."""

from __future__ import annotations

import dataclasses
import os
import resource
import time

__all__ = ["Metrics"]


@dataclasses.dataclass
class Metrics:
    """Counters the server bumps as it works (plain ints: one process, one event loop)."""

    started_at: float = dataclasses.field(default_factory=time.time)
    requests: int = 0
    runs_created: int = 0
    runs_started: int = 0
    runs_ended: dict[str, int] = dataclasses.field(default_factory=dict)
    workers_max: int = 0
    workers_busy: int = 0

    def count_end(self, status: str) -> None:
        self.runs_ended[status] = self.runs_ended.get(status, 0) + 1

    def render(self) -> str:
        """The counters as Prometheus text."""
        usage = resource.getrusage(resource.RUSAGE_SELF)
        lines = [
            "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.",
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {usage.ru_utime + usage.ru_stime:.6f}",
            "# HELP process_resident_memory_max_bytes Peak resident memory in bytes.",
            "# TYPE process_resident_memory_max_bytes gauge",
            f"process_resident_memory_max_bytes {usage.ru_maxrss * 1024}",
            "# HELP process_start_time_seconds Start time of the process since unix epoch in seconds.",
            "# TYPE process_start_time_seconds gauge",
            f"process_start_time_seconds {self.started_at:.3f}",
            "# HELP relaygraph_process_id The server's process id.",
            "# TYPE relaygraph_process_id gauge",
            f"relaygraph_process_id {os.getpid()}",
            "# HELP relaygraph_runs_created_total Runs created.",
            "# TYPE relaygraph_runs_created_total counter",
            f"relaygraph_runs_created_total {self.runs_created}",
            "# HELP relaygraph_runs_started_total Runs a worker started executing.",
            "# TYPE relaygraph_runs_started_total counter",
            f"relaygraph_runs_started_total {self.runs_started}",
            "# HELP relaygraph_runs_ended_total Runs that ended, by final status.",
            "# TYPE relaygraph_runs_ended_total counter",
        ]
        for status, n in sorted(self.runs_ended.items()):
            lines.append(f'relaygraph_runs_ended_total{{status="{status}"}} {n}')
        lines += [
            "# HELP lg_api_workers_max Run workers.",
            "# TYPE lg_api_workers_max gauge",
            f"lg_api_workers_max {self.workers_max}",
            "# HELP lg_api_workers_active Run workers executing a run.",
            "# TYPE lg_api_workers_active gauge",
            f"lg_api_workers_active {self.workers_busy}",
            "# HELP lg_api_workers_available Idle run workers.",
            "# TYPE lg_api_workers_available gauge",
            f"lg_api_workers_available {self.workers_max - self.workers_busy}",
        ]
        return "\n".join(lines) + "\n"
