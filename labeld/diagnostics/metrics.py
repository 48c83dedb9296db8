"""GET /metrics: the daemon's state in Prometheus text format, computed at scrape time."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from labeld.delivery.printers import Printer
from labeld.store import Database, JobQueue

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
PRINTER_STATES = ("idle", "processing", "stopped")


class _Snapshot(Collector):
    """A prometheus collector over numbers read once per scrape."""

    def __init__(self, families: list[Metric]):
        self.families = families

    def collect(self) -> Iterator[Metric]:
        yield from self.families


# A door's own numbers (the fleet channel's messages and requests), read at each scrape.
MetricSource = Callable[[], Iterable[Metric]]


async def render_metrics(queue: JobQueue, db: Database, printers: Mapping[str, Printer],
                         extra: Iterable[MetricSource] = ()) -> bytes:
    """The scrape: jobs by printer and state (one read of the queue), the store's commit
    counter, each printer's state and active reasons, and what `extra` sources report. No SQL
    here: the rooms answer."""
    counts = await queue.counts_by_printer_and_state()
    jobs = GaugeMetricFamily("labeld_jobs", "Jobs in the spool by printer and state",
                             labels=["printer", "state"])
    for printer, job_state, n in counts:
        jobs.add_metric([printer, job_state.value], n)
    # Read after the query above, whose own transaction it therefore includes. With group
    # commit this grows slower than the operations: jobs per commit is what bench_raw reports.
    commits = CounterMetricFamily(
        "labeld_spool_commits", "Transactions the spool committed since the daemon started",
        value=db.commits)
    state = GaugeMetricFamily("labeld_printer_state", "1 for the printer's current state",
                              labels=["printer", "state"])
    reasons = GaugeMetricFamily("labeld_printer_reason", "Active printer state reasons",
                                labels=["printer", "code", "severity"])
    for pid, p in printers.items():
        for s in PRINTER_STATES:
            state.add_metric([pid, s], 1.0 if p.state == s else 0.0)
        for r in p.reasons:
            reasons.add_metric([pid, r.code, r.severity.value], 1.0)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot([jobs, commits, state, reasons,
                                 *(m for source in extra for m in source())]))
    return generate_latest(registry)
