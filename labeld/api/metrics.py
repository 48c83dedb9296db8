"""GET /metrics: the daemon's state in Prometheus text format, computed at scrape time."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from labeld.api.app import Daemon

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
PRINTER_STATES = ("idle", "processing", "stopped")


class _Snapshot:
    """A prometheus collector over numbers read once per scrape."""

    def __init__(self, families: list[GaugeMetricFamily]):
        self.families = families

    def collect(self):
        yield from self.families


async def render_metrics(daemon: Daemon) -> bytes:
    def op(conn: sqlite3.Connection) -> list[tuple[str, str, int]]:
        return [tuple(r) for r in conn.execute(
            "SELECT printer, state, count(*) FROM jobs GROUP BY printer, state")]

    counts = await daemon.spool.run(op)
    jobs = GaugeMetricFamily("labeld_jobs", "Jobs in the spool by printer and state",
                             labels=["printer", "state"])
    for printer, state, n in counts:
        jobs.add_metric([printer, state], n)
    state = GaugeMetricFamily("labeld_printer_state", "1 for the printer's current state",
                              labels=["printer", "state"])
    reasons = GaugeMetricFamily("labeld_printer_reason", "Active printer state reasons",
                                labels=["printer", "code", "severity"])
    for pid, p in daemon.printers.items():
        for s in PRINTER_STATES:
            state.add_metric([pid, s], 1.0 if p.state == s else 0.0)
        for r in p.reasons:
            reasons.add_metric([pid, r.code, r.severity.value], 1.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot([jobs, state, reasons]))
    return generate_latest(registry)
