"""Self-tests: what a technician far away needs to know about one printer, in one call.

A self-test is an ordered list of checks, each bounded by a timeout and answering ok, warn,
fail or skip with a duration, a plain detail and a hint. The first failure that makes the rest
meaningless (the printer cannot be reached) skips the checks after it instead of letting each
one time out in turn. Model plugins add checks of their own (`labeld.contracts.SelfTestCheck`);
they answer with the same `CheckResult` as the built-in ones, and `verdict` words a printer's
reasons for them. The support bundle (labeld.diagnostics.bundle) runs a self-test per printer.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from labeld.contracts import (CheckResult, CheckStatus, PrintOptions, Reason, SelfTestCheck,
                              Severity, Timeouts, TransportError)
from labeld import i18n
from labeld.delivery.printers import Printer
from labeld.i18n import Catalogues
from labeld.reasons import describe

if TYPE_CHECKING:
    from labeld.intake.render import FontBook

LATENCY_SAMPLES = 5
LATENCY_WARN_MS = 250.0
CONFIG_READ_S = 1.0
# How bad a check's status is; a self-test's result is its worst check.
SEVERITY_ORDER: dict[CheckStatus, int] = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class Check:
    """One check as the self-test reports it: its result, named and timed."""

    name: str
    status: CheckStatus
    duration_ms: float
    detail: str
    hint: str = ""
    data: dict[str, Any] | None = None


CheckFn = Callable[[], Awaitable[CheckResult]]


def worst(checks: Iterable[Check]) -> CheckStatus:
    """The self-test's result: its worst check's status (ok when there are none)."""
    return max((c.status for c in checks), key=lambda s: SEVERITY_ORDER[s], default="ok")


async def _timed(name: str, fn: CheckFn, timeout: float) -> Check:
    t0 = time.perf_counter()
    try:
        result = await asyncio.wait_for(fn(), timeout)
    except TimeoutError:
        result = CheckResult("fail", f"no answer within {timeout:g} s",
                             "The printer accepted the connection but stays silent.")
    except TransportError as exc:
        result = CheckResult("fail", exc.message)
    return Check(name, result.status, round((time.perf_counter() - t0) * 1000, 2), result.detail,
                 result.hint, result.data)


def verdict(reasons: list[Reason], fields: dict[str, Any], ok_detail: str,
            catalogues: Catalogues = i18n.CORE) -> CheckResult:
    """A check's result from the reasons a printer reported: fail on an error (with its hint),
    warn on anything else, ok on none; the reasons in both languages go with it, worded by
    `catalogues` (labeld's own by default: a plugin's check that reports codes of its own
    passes `i18n.CORE.with_dirs([its locale dir])`)."""
    described = [describe(r, catalogues) for r in reasons]
    data = {"reasons": described, "fields": fields}
    if not reasons:
        return CheckResult("ok", ok_detail, "", data)
    errors = [r for r in reasons if r.severity is Severity.ERROR]
    first = describe(errors[0], catalogues) if errors else described[0]
    return CheckResult("fail" if errors else "warn",
                       ", ".join(d["message"]["en"] for d in described), first["hint"]["en"], data)


async def run_selftest(printer: Printer, *, print_label: bool = False,
                       label: Callable[[], bytes] | None = None,
                       extra: Sequence[SelfTestCheck] = (),
                       catalogues: Catalogues = i18n.CORE) -> list[Check]:
    """Run the ordered checks against one printer. `label` builds the diagnostic label's bytes
    (used when `print_label`); `extra` are model plugins' checks (labeld_selftest_checks);
    `catalogues` word the printer's reasons (a daemon passes its own, with the plugins')."""
    timeout = printer.status_timeout
    checks: list[Check] = []

    async def reachable() -> CheckResult:
        t0 = time.perf_counter()
        async with printer.connect(Timeouts(connect=min(printer.timeouts.connect, timeout))):
            ms = (time.perf_counter() - t0) * 1000
        return CheckResult("ok", f"connected to {printer.config.uri} in {ms:.1f} ms",
                           data={"connect_ms": ms})

    checks.append(await _timed("transport reachable", reachable, timeout + 0.5))
    if checks[-1].status == "fail":
        checks[-1] = replace(checks[-1], hint="Check the printer's power, cable and IP address, "
                                              "and that nothing blocks the port.")
        for name in ("identification", "status", "round-trip latency", "media size",
                     "configuration"):
            checks.append(Check(name, "skip", 0.0, "the printer cannot be reached"))
        return checks

    identity: dict[str, Any] = {}

    async def identification() -> CheckResult:
        query = printer.language.identify_query()
        if query is None:
            return CheckResult("skip", f"{printer.language.name} has no identification query")
        reply = await printer.ask(query, printer.language.identify_complete, timeout)
        identity.update(printer.language.decode_identity(reply))
        if not reply:
            return CheckResult(
                "warn", "the printer did not say who it is",
                f"A printer that does not answer {printer.language.name} identification may be"
                " in another emulation mode (e.g. a Star printer in Star mode where ESC/POS is"
                " configured), or its interface is one-way.")
        if identity.get("garbled"):
            return CheckResult("warn", f"unreadable identification reply {reply[:40]!r}",
                               data=identity)
        name = " ".join(str(identity[k]) for k in ("maker", "model", "firmware") if identity.get(k))
        dpi = identity.get("dpi")
        if dpi and dpi != printer.model.dpi:
            return CheckResult(
                "fail", f"{name}: the printer prints at {dpi} dpi, the configured model "
                f"{printer.model.id} at {printer.model.dpi} dpi",
                "Configure a model with the printer's resolution, or labels print at the wrong"
                " size.", identity)
        return CheckResult("ok", name or "identified", data=identity)

    checks.append(await _timed("identification", identification, timeout + 0.5))

    async def status() -> CheckResult:
        live = await printer.query_status()
        if not live.answered:
            reasons = [describe(r, catalogues) for r in live.reasons]
            return CheckResult("warn", "no status reply",
                               reasons[0]["hint"]["en"] if reasons else "",
                               {"reasons": reasons, "fields": live.fields})
        return verdict(live.reasons, live.fields, "ready: no error or warning reported",
                       catalogues)

    checks.append(await _timed("status", status, timeout + 1.0))

    async def latency() -> CheckResult:
        samples = []
        for _ in range(LATENCY_SAMPLES):
            t0 = time.perf_counter()
            reply = await printer.ask(printer.language.status_query(),
                                      printer.language.status_complete, timeout)
            if not reply:
                return CheckResult("skip", "the printer does not answer status queries")
            samples.append((time.perf_counter() - t0) * 1000)
        p50, slowest = statistics.median(samples), max(samples)
        data = {"p50_ms": round(p50, 2), "max_ms": round(slowest, 2), "samples": len(samples)}
        detail = f"status round trip {p50:.1f} ms median, {slowest:.1f} ms worst"
        if slowest > LATENCY_WARN_MS:
            return CheckResult("warn", detail,
                               "A slow network or a busy printer: check Wi-Fi signal or cabling.",
                               data)
        return CheckResult("ok", detail, data=data)

    checks.append(await _timed("round-trip latency", latency, timeout * LATENCY_SAMPLES + 1))

    async def media() -> CheckResult:
        reported = printer.last.fields.get("label_length_dots")
        wanted = printer.config.media_height_mm
        if not isinstance(reported, int) or reported <= 0:
            return CheckResult("skip", "the printer does not report its media size")
        reported_mm = reported / printer.model.dpi * 25.4
        data = {"printer_label_length_mm": round(reported_mm, 1), "configured_mm": wanted}
        if wanted is None:
            return CheckResult("ok", f"the printer measures labels {reported_mm:.1f} mm long "
                               "(set media_height_mm in the config to check it)", data=data)
        if abs(reported_mm - wanted) > 2.0:
            return CheckResult(
                "warn", f"labels measure {reported_mm:.1f} mm, the config says {wanted:g} mm",
                "Load the right labels or calibrate the printer's media sensor.", data)
        return CheckResult("ok", f"labels measure {reported_mm:.1f} mm as configured", data=data)

    checks.append(await _timed("media size", media, 1.0))

    async def configuration() -> CheckResult:
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
        return CheckResult("ok", f"{len(data) - 1} setting(s) read{note}", data=data)

    checks.append(await _timed("configuration", configuration, timeout + 0.5))

    for check in extra:
        checks.append(await _timed(check.name, partial(check.run, printer), timeout + 1.0))

    if print_label and label is not None:
        async def test_print() -> CheckResult:
            data = label()
            async with printer.connect() as transport:
                await transport.write(data)
                await transport.finish()
            return CheckResult(
                "ok", f"diagnostic label sent ({len(data)} bytes)",
                "Scan each barcode on it: the thinnest that scans shows the darkness is right.")

        checks.append(await _timed("test print", test_print, printer.timeouts.write + 2))
    return checks


def diagnostic_label(printer: Printer, fonts: FontBook) -> bytes:
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
