"""Self-tests and the support bundle: what a technician far away needs in one call.

A self-test is an ordered list of checks, each bounded by a timeout and answering ok, warn,
fail or skip with a duration, a plain detail and a hint. The first failure that makes the rest
meaningless (the printer cannot be reached) skips the checks after it instead of letting each
one time out in turn.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import statistics
import time
import zipfile
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from labeld import __version__
from labeld.contracts import (PrintOptions, Reason, SelfTestCheck, Severity, Timeouts,
                              TransportError)
from labeld.logs import TextFormatter
from labeld.delivery.printers import Printer
from labeld.diagnostics.reasons import describe

if TYPE_CHECKING:
    from labeld.http.app import Daemon

Status = Literal["ok", "warn", "fail", "skip"]
LATENCY_SAMPLES = 5
LATENCY_WARN_MS = 250.0
CONFIG_READ_S = 1.0
# Keys whose values never leave the machine in a support bundle.
REDACT = ("tls_key", "password", "secret", "token")


@dataclass
class Check:
    name: str
    status: Status
    duration_ms: float
    detail: str
    hint: str = ""
    data: dict[str, Any] | None = None


CheckFn = Callable[[], Awaitable[tuple[Status, str, str, dict[str, Any] | None]]]


async def _timed(name: str, fn: CheckFn, timeout: float) -> Check:
    t0 = time.perf_counter()
    try:
        status, detail, hint, data = await asyncio.wait_for(fn(), timeout)
    except TimeoutError:
        status, detail, hint, data = ("fail", f"no answer within {timeout:g} s",
                                      "The printer accepted the connection but stays silent.", None)
    except TransportError as exc:
        status, detail, hint, data = "fail", exc.message, "", None
    return Check(name, status, round((time.perf_counter() - t0) * 1000, 2), detail, hint, data)


def verdict(reasons: list[Reason], fields: dict[str, Any],
            ok_detail: str) -> tuple[Status, str, str, dict[str, Any]]:
    """A check's result from the reasons a printer reported: fail on an error (with its hint),
    warn on anything else, ok on none; the reasons in both languages go with it."""
    described = [describe(r) for r in reasons]
    data = {"reasons": described, "fields": fields}
    if not reasons:
        return "ok", ok_detail, "", data
    errors = [r for r in reasons if r.severity is Severity.ERROR]
    first = describe(errors[0]) if errors else described[0]
    return ("fail" if errors else "warn", ", ".join(d["message"]["en"] for d in described),
            first["hint"]["en"], data)


async def run_selftest(printer: Printer, *, print_label: bool = False,
                       label: Callable[[], bytes] | None = None,
                       extra: list[SelfTestCheck] = ()) -> list[Check]:
    """Run the ordered checks against one printer. `label` builds the diagnostic label's bytes
    (used when `print_label`); `extra` are model plugins' checks (labeld_selftest_checks)."""
    timeout = printer.status_timeout
    checks: list[Check] = []

    async def reachable() -> tuple[Status, str, str, dict[str, Any] | None]:
        t0 = time.perf_counter()
        async with printer.connect(Timeouts(connect=min(printer.timeouts.connect, timeout))):
            ms = (time.perf_counter() - t0) * 1000
        return "ok", f"connected to {printer.config.uri} in {ms:.1f} ms", "", {"connect_ms": ms}

    checks.append(await _timed("transport reachable", reachable, timeout + 0.5))
    if checks[-1].status == "fail":
        checks[-1].hint = ("Check the printer's power, cable and IP address, and that nothing "
                           "blocks the port.")
        for name in ("identification", "status", "round-trip latency", "media size",
                     "configuration"):
            checks.append(Check(name, "skip", 0.0, "the printer cannot be reached"))
        return checks

    identity: dict[str, Any] = {}

    async def identification() -> tuple[Status, str, str, dict[str, Any] | None]:
        query = printer.language.identify_query()
        if query is None:
            return "skip", f"{printer.language.name} has no identification query", "", None
        reply = await printer.ask(query, printer.language.identify_complete, timeout)
        identity.update(printer.language.decode_identity(reply))
        if not reply:
            return ("warn", "the printer did not say who it is",
                    f"A printer that does not answer {printer.language.name} identification may be"
                    " in another emulation mode (e.g. a Star printer in Star mode where ESC/POS is"
                    " configured), or its interface is one-way.", None)
        if identity.get("garbled"):
            return "warn", f"unreadable identification reply {reply[:40]!r}", "", identity
        name = " ".join(str(identity[k]) for k in ("maker", "model", "firmware") if identity.get(k))
        dpi = identity.get("dpi")
        if dpi and dpi != printer.model.dpi:
            return ("fail", f"{name}: the printer prints at {dpi} dpi, the configured model "
                    f"{printer.model.id} at {printer.model.dpi} dpi",
                    "Configure a model with the printer's resolution, or labels print at the wrong"
                    " size.", identity)
        return "ok", name or "identified", "", identity

    checks.append(await _timed("identification", identification, timeout + 0.5))

    async def status() -> tuple[Status, str, str, dict[str, Any] | None]:
        live = await printer.query_status()
        if not live.answered:
            reasons = [describe(r) for r in live.reasons]
            return ("warn", "no status reply", reasons[0]["hint"]["en"] if reasons else "",
                    {"reasons": reasons, "fields": live.fields})
        return verdict(live.reasons, live.fields, "ready: no error or warning reported")

    checks.append(await _timed("status", status, timeout + 1.0))

    async def latency() -> tuple[Status, str, str, dict[str, Any] | None]:
        samples = []
        for _ in range(LATENCY_SAMPLES):
            t0 = time.perf_counter()
            reply = await printer.ask(printer.language.status_query(),
                                      printer.language.status_complete, timeout)
            if not reply:
                return "skip", "the printer does not answer status queries", "", None
            samples.append((time.perf_counter() - t0) * 1000)
        p50, worst = statistics.median(samples), max(samples)
        data = {"p50_ms": round(p50, 2), "max_ms": round(worst, 2), "samples": len(samples)}
        if worst > LATENCY_WARN_MS:
            return ("warn", f"status round trip {p50:.1f} ms median, {worst:.1f} ms worst",
                    "A slow network or a busy printer: check Wi-Fi signal or cabling.", data)
        return "ok", f"status round trip {p50:.1f} ms median, {worst:.1f} ms worst", "", data

    checks.append(await _timed("round-trip latency", latency, timeout * LATENCY_SAMPLES + 1))

    async def media() -> tuple[Status, str, str, dict[str, Any] | None]:
        reported = printer.last.fields.get("label_length_dots")
        wanted = printer.config.media_height_mm
        if not isinstance(reported, int) or reported <= 0:
            return "skip", "the printer does not report its media size", "", None
        reported_mm = reported / printer.model.dpi * 25.4
        data = {"printer_label_length_mm": round(reported_mm, 1), "configured_mm": wanted}
        if wanted is None:
            return ("ok", f"the printer measures labels {reported_mm:.1f} mm long "
                    "(set media_height_mm in the config to check it)", "", data)
        if abs(reported_mm - wanted) > 2.0:
            return ("warn", f"labels measure {reported_mm:.1f} mm, the config says {wanted:g} mm",
                    "Load the right labels or calibrate the printer's media sensor.", data)
        return "ok", f"labels measure {reported_mm:.1f} mm as configured", "", data

    checks.append(await _timed("media size", media, 1.0))

    async def configuration() -> tuple[Status, str, str, dict[str, Any] | None]:
        data = {k: v for k, v in {**identity, **printer.last.fields}.items()
                if k not in ("password", "garbled")}
        query = printer.language.config_query()
        dump: dict[str, Any] = {}
        if query is not None:
            # Not every printer answers (framing and support vary): a short, bounded read.
            reply = await printer.ask(query, printer.language.config_complete,
                                      min(timeout, CONFIG_READ_S))
            dump = printer.language.decode_config(reply)
        data["dump"] = dump
        note = f", configuration dump: {len(dump)} item(s)" if dump else ", no configuration dump"
        return "ok", f"{len(data) - 1} setting(s) read{note}", "", data

    checks.append(await _timed("configuration", configuration, timeout + 0.5))

    for check in extra:
        checks.append(await _timed(check.name, lambda c=check: c.run(printer), timeout + 1.0))

    if print_label and label is not None:
        async def test_print() -> tuple[Status, str, str, dict[str, Any] | None]:
            data = label()
            async with printer.connect() as transport:
                await transport.write(data)
                await transport.finish()
            return ("ok", f"diagnostic label sent ({len(data)} bytes)",
                    "Scan each barcode on it: the thinnest that scans shows the darkness is right.",
                    None)

        checks.append(await _timed("test print", test_print, printer.timeouts.write + 2))
    return checks


def diagnostic_label(printer: Printer, fonts: Any) -> bytes:
    """A label that tells a technician about the printer at a glance: its id and time, a dpi
    ruler, and Code 128 samples at several module widths to judge darkness and scannability."""
    from labeld.intake.render import parse_label, render_label

    model = printer.model
    width_mm = min(model.print_width_dots / model.dpi * 25.4, 100.0)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    elements: list[dict[str, Any]] = [
        {"type": "text", "x_mm": 3, "y_mm": 2, "text": f"labeld self-test: {printer.id}",
         "size_pt": 9, "bold": True},
        {"type": "text", "x_mm": 3, "y_mm": 7, "text": f"{model.id}, {model.dpi} dpi, {now}",
         "size_pt": 7},
    ]
    for i in range(int(width_mm) // 10):  # a 10 mm ruler: wrong spacing means a wrong dpi
        elements.append({"type": "line", "x_mm": 3 + i * 10, "y_mm": 12, "x2_mm": 3 + i * 10,
                         "y2_mm": 15, "thickness_mm": 0.3})
    y = 17.0
    for module in (1, 2, 3):
        elements.append({"type": "barcode", "symbology": "code128", "data": f"LABELD-{module}",
                         "x_mm": 6, "y_mm": y, "height_mm": 6, "module_dots": module,
                         "human_readable": True})
        y += 11
    doc = {"width_mm": round(width_mm, 1), "height_mm": y + 2, "elements": elements}
    raster = render_label(parse_label(doc, default_dpi=model.dpi), fonts)
    return printer.language.encode_raster([raster], model, PrintOptions(copies=1, cut=True))


class LogRing(logging.Handler):
    """The last lines of labeld's log, kept in memory for the support bundle."""

    def __init__(self, size: int = 2000):
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=size)
        # The terminal's format, with the extra fields (printer, job, code) a technician needs.
        self.setFormatter(TextFormatter())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # a log line that cannot be formatted must not break logging
            pass


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("<redacted>" if any(r in k.lower() for r in REDACT) and v else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


async def support_bundle(daemon: Daemon, *, jobs: int = 50, events: int = 500,
                         selftest: bool = True) -> bytes:
    """A zip a technician can read offline: version, plugins, config (secrets redacted),
    printers with live status and self-test, the last jobs with errors and previews, events and
    recent log lines."""
    from labeld.http.schemas import job_json, printer_json
    from labeld.events import event_json
    from labeld.intake.render import raster_to_png

    counts = await daemon.spool.queued_counts()
    printers = []
    for pid, p in daemon.printers.items():
        entry = printer_json(p, counts.get(pid, 0))
        if selftest:
            extra = daemon.plugins.selftest_checks(p.model.id)
            entry["selftest"] = [asdict(c) for c in await run_selftest(p, extra=extra)]
        printers.append(entry)
    recent = await daemon.spool.list(limit=jobs)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        def put(name: str, obj: Any) -> None:
            z.writestr(name, json.dumps(obj, indent=2, ensure_ascii=False, default=str))

        put("version.json", {"labeld": __version__, "created_at": datetime.now(UTC).isoformat()})
        put("plugins.json", [asdict(i) for i in daemon.plugins.infos()])
        put("config.json", redact(daemon.config.model_dump()))
        put("printers.json", printers)
        full = [await daemon.spool.get(j.id, with_attempts=True) for j in recent]
        put("jobs.json", [job_json(j) for j in full])
        for j in full:
            if j.kind != "raw":
                for n, page in enumerate(await daemon.spool.pages(j.id), start=1):
                    z.writestr(f"previews/{j.id}-{n}.png", raster_to_png(page))
        put("events.json", [event_json(e) for e in await daemon.spool.events(limit=events)])
        ring = next((h for h in logging.getLogger().handlers if isinstance(h, LogRing)), None)
        z.writestr("log.txt", "\n".join(ring.lines) if ring else "(no log ring installed)")
    return buf.getvalue()
