"""The support bundle: one zip a technician far away can read offline.

It holds versions, plugins, the config with its secrets redacted, every printer with its live
status and self-test, the last jobs with their errors and previews, events, the morning report
(since the support desk last closed), and the recent log lines kept by `LogRing`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import zipfile
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from labeld import __version__
from labeld.config import Config
from labeld.delivery.printers import Printer
from labeld.diagnostics.report import Report
from labeld.diagnostics.selftest import checks_json, run_selftest
from labeld.i18n import Catalogues
from labeld.intake.render import raster_to_png
from labeld.logs import TextFormatter
from labeld.pluginmanager import PluginManager
from labeld.store import EventLog, JobQueue
from labeld.views import event_json, job_json, printer_json

# Keys whose values never leave the machine in a support bundle.
REDACT = ("tls_key", "password", "secret", "token")


class LogRing(logging.Handler):
    """The last lines of labeld's log, kept in memory for the support bundle."""

    def __init__(self, size: int = 2000):
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=size)
        # The terminal's format, with the extra fields (printer, job, code) a technician needs.
        self.setFormatter(TextFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        # A log line that cannot be formatted (a bad %-argument anywhere in the process) must
        # not break logging, nor the support bundle: it is left out of the ring.
        with contextlib.suppress(Exception):
            self.lines.append(self.format(record))


def install_log_ring() -> None:
    """Keep recent log lines for the bundle; once per process, however many daemons it runs."""
    root = logging.getLogger()
    if not any(isinstance(h, LogRing) for h in root.handlers):
        root.addHandler(LogRing())


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<redacted>" if any(r in k.lower() for r in REDACT) and v else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


async def support_bundle(config: Config, plugins: PluginManager, printers: Mapping[str, Printer],
                         queue: JobQueue, event_log: EventLog, catalogues: Catalogues, *,
                         jobs: int = 50, events: int = 500, selftest: bool = True,
                         report: Report | None = None) -> bytes:
    """The zip: version, plugins, config (secrets redacted), printers with live status and
    self-test (reasons worded by `catalogues`), the last `jobs` jobs with errors and previews,
    the last `events` events, the morning `report` (report.json) and recent log lines."""
    counts = await queue.queued_counts()
    printer_entries = []
    for pid, p in printers.items():
        entry = printer_json(p, counts.get(pid, 0), catalogues)
        if selftest:
            extra = plugins.selftest_checks(p.model.id)
            checks = await run_selftest(p, extra=extra, catalogues=catalogues)
            entry["selftest"] = checks_json(checks, catalogues)  # as the API shows them
        printer_entries.append(entry)
    recent = await queue.list(limit=jobs)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name: str, obj: Any) -> None:
            z.writestr(name, json.dumps(obj, indent=2, ensure_ascii=False, default=str))

        put("version.json", {"labeld": __version__, "created_at": datetime.now(UTC).isoformat()})
        put("plugins.json", [asdict(i) for i in plugins.infos()])
        put("config.json", redact(config.model_dump()))
        put("printers.json", printer_entries)
        full = [await queue.get(j.id, with_attempts=True) for j in recent]
        put("jobs.json", [job_json(j, catalogues) for j in full])
        for j in full:
            if j.kind != "raw":
                for n, page in enumerate(await queue.pages(j.id), start=1):
                    z.writestr(f"previews/{j.id}-{n}.png", raster_to_png(page))
        put("events.json", [event_json(e) for e in await event_log.list(limit=events)])
        if report is not None:
            put("report.json", report.as_json())
        ring = next((h for h in logging.getLogger().handlers if isinstance(h, LogRing)), None)
        z.writestr("log.txt", "\n".join(ring.lines) if ring else "(no log ring installed)")
    return buf.getvalue()
