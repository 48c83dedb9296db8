"""Self-tests: what a technician far away needs to know about one printer, in one call.

A self-test is an ordered list of checks, each bounded by a timeout and answering ok, warn,
fail or skip with a duration, a plain detail and a hint. The first failure that makes the rest
meaningless (the printer cannot be reached) skips the checks after it instead of letting each
one time out in turn. Model plugins add checks of their own (`labeld.contracts.SelfTestCheck`);
they answer with the same `CheckResult` as the built-in ones, and `verdict` words a printer's
reasons for them. The support bundle (labeld.diagnostics.bundle) runs a self-test per printer.

A check's name, detail and hint are `Words` (labeld.i18n): each is its English text (a `str`,
so everything that read them as English still does) and knows how to say itself in any
language. Write a sentence as `N_("labels measure {length} mm", length=...)` (its English is the
gettext id, the values are named and may be `Words` themselves) or `Message.ngettext(...)` for a
count; `pybabel extract` finds both, and `check_json` words every check in every language at the
edge. A plain `str` (the printer's own words: its model and firmware) reads the same in every
language.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from functools import partial
from typing import TYPE_CHECKING, Any

from labeld.contracts import (CheckResult, CheckStatus, PrintOptions, Reason, SelfTestCheck,
                              Severity, Timeouts, TransportError)
from labeld import i18n
from labeld.delivery.printers import Printer
from labeld.i18n import N_, Catalogues, Joined, Message, Number, Said, words
from labeld.reasons import WRONG_CODE_PAGE, describe

if TYPE_CHECKING:
    from labeld.intake.render import FontBook

LATENCY_SAMPLES = 5
LATENCY_WARN_MS = 250.0
CONFIG_READ_S = 1.0
# How bad a check's status is; a self-test's result is its worst check.
SEVERITY_ORDER: dict[CheckStatus, int] = {"ok": 0, "skip": 0, "warn": 1, "fail": 2}


# The built-in checks' names, in the order they run.
REACHABLE = N_("transport reachable")
IDENTIFICATION = N_("identification")
STATUS = N_("status")
LATENCY = N_("round-trip latency")
MEDIA = N_("media size")
CONFIGURATION = N_("configuration")
TEST_PRINT = N_("test print")
CODE_PAGE = N_("code page")
# Every Hungarian accented letter, small and capital: ő and ű are the ones a wrong table loses.
CODE_PAGE_SAMPLE = "Árvíztűrő tükörfúrógép ÁRVÍZTŰRŐ TÜKÖRFÚRÓGÉP"


@dataclass(frozen=True)
class Check:
    """One check as the self-test reports it: its result, named and timed. `name`, `detail`
    and `hint` read as English; `check_json` gives them in every language."""

    name: str
    status: CheckStatus
    duration_ms: float
    detail: str
    hint: str = ""
    data: dict[str, Any] | None = None


def check_json(check: Check, catalogues: Catalogues = i18n.CORE) -> dict[str, Any]:
    """A check as the API and the support bundle show it: `name`, `detail` and `hint` in
    English as always, and each in every language as `name_i18n`, `detail_i18n`, `hint_i18n`
    ({"en": ..., "hu": ...}, the shape of a reason's `message` and `hint`)."""
    name, detail, hint = (words(t, catalogues) for t in (check.name, check.detail, check.hint))
    return {"name": name[i18n.FALLBACK], "status": check.status,
            "duration_ms": check.duration_ms, "detail": detail[i18n.FALLBACK],
            "hint": hint[i18n.FALLBACK], "data": check.data,
            "name_i18n": name, "detail_i18n": detail, "hint_i18n": hint}


def checks_json(checks: Iterable[Check], catalogues: Catalogues = i18n.CORE
                ) -> list[dict[str, Any]]:
    return [check_json(c, catalogues) for c in checks]


CheckFn = Callable[[], Awaitable[CheckResult]]


def worst(checks: Iterable[Check]) -> CheckStatus:
    """The self-test's result: its worst check's status (ok when there are none)."""
    return max((c.status for c in checks), key=lambda s: SEVERITY_ORDER[s], default="ok")


async def _timed(name: str, fn: CheckFn, timeout: float) -> Check:
    t0 = time.perf_counter()
    try:
        result = await asyncio.wait_for(fn(), timeout)
    except TimeoutError:
        result = CheckResult("fail", N_("no answer within {seconds} s", seconds=Number(timeout)),
                             N_("The printer accepted the connection but stays silent."))
    except TransportError as exc:
        # The transport's own sentence is English (and names the address): said as it is.
        result = CheckResult("fail", N_("connection problem: {error}", error=exc.message))
    return Check(name, result.status, round((time.perf_counter() - t0) * 1000, 2), result.detail,
                 result.hint, result.data)


def verdict(reasons: list[Reason], fields: dict[str, Any], ok_detail: str,
            catalogues: Catalogues = i18n.CORE) -> CheckResult:
    """A check's result from the reasons a printer reported: fail on an error (with its hint),
    warn on anything else, ok on none; the reasons in both languages go with it, worded by
    `catalogues` (labeld's own by default: a plugin's check that reports codes of its own
    passes `i18n.CORE.with_dirs([its locale dir])`). The detail and hint are the reasons'
    words in every language; `ok_detail` is best an `N_(...)` sentence."""
    described = [describe(r, catalogues) for r in reasons]
    data = {"reasons": described, "fields": fields}
    if not reasons:
        return CheckResult("ok", ok_detail, "", data)
    errors = [r for r in reasons if r.severity is Severity.ERROR]
    first = describe(errors[0], catalogues) if errors else described[0]
    detail = Said({lang: ", ".join(d["message"][lang] for d in described)
                   for lang in i18n.SUPPORTED})
    return CheckResult("fail" if errors else "warn", detail, Said(first["hint"]), data)


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
        connect = min(printer.timeouts.connect, timeout)
        try:
            async with printer.connect(Timeouts(connect=connect)):
                ms = (time.perf_counter() - t0) * 1000
        except TransportError as exc:
            # The two usual ways a shop's printer cannot be reached, in the reader's words;
            # anything else in the transport's own (English) sentence.
            if exc.code == "connection-refused":
                return CheckResult("fail", N_("{uri} refused the connection",
                                              uri=printer.config.uri))
            if exc.code == "connect-timeout":
                return CheckResult("fail", N_("no answer from {uri} within {seconds} s",
                                              uri=printer.config.uri, seconds=Number(connect)))
            raise
        return CheckResult("ok", N_("connected to {uri} in {ms} ms", uri=printer.config.uri,
                                    ms=Number(ms, 1)),
                           data={"connect_ms": ms})

    checks.append(await _timed(REACHABLE, reachable, timeout + 0.5))
    if checks[-1].status == "fail":
        checks[-1] = replace(checks[-1], hint=N_(
            "Check the printer's power, cable and IP address, and that nothing blocks the port."))
        for name in (IDENTIFICATION, STATUS, LATENCY, MEDIA, CONFIGURATION):
            checks.append(Check(name, "skip", 0.0, N_("the printer cannot be reached")))
        return checks

    identity: dict[str, Any] = {}
    language = printer.language.name

    async def identification() -> CheckResult:
        query = printer.language.identify_query()
        if query is None:
            return CheckResult("skip", N_("{language} has no identification query",
                                          language=language))
        reply = await printer.ask(query, printer.language.identify_complete, timeout)
        identity.update(printer.language.decode_identity(reply))
        if not reply:
            return CheckResult(
                "warn", N_("the printer did not say who it is"),
                N_("A printer that does not answer {language} identification may be in another"
                   " emulation mode (e.g. a Star printer in Star mode where ESC/POS is"
                   " configured), or its interface is one-way.", language=language))
        if identity.get("garbled"):
            return CheckResult("warn", N_("unreadable identification reply {reply}",
                                          reply=repr(reply[:40])), data=identity)
        # The printer's own words (maker, model, firmware): the same in every language.
        name = " ".join(str(identity[k]) for k in ("maker", "model", "firmware") if identity.get(k))
        dpi = identity.get("dpi")
        if dpi and dpi != printer.model.dpi:
            return CheckResult(
                "fail", N_("{name}: the printer prints at {dpi} dpi, the configured model "
                           "{model} at {model_dpi} dpi", name=name, dpi=dpi,
                           model=printer.model.id, model_dpi=printer.model.dpi),
                N_("Configure a model with the printer's resolution, or labels print at the"
                   " wrong size."), identity)
        return CheckResult("ok", name or N_("identified"), data=identity)

    checks.append(await _timed(IDENTIFICATION, identification, timeout + 0.5))

    async def status() -> CheckResult:
        live = await printer.query_status()
        if not live.answered:
            reasons = [describe(r, catalogues) for r in live.reasons]
            return CheckResult("warn", N_("no status reply"),
                               Said(reasons[0]["hint"]) if reasons else "",
                               {"reasons": reasons, "fields": live.fields})
        return verdict(live.reasons, live.fields, N_("ready: no error or warning reported"),
                       catalogues)

    checks.append(await _timed(STATUS, status, timeout + 1.0))

    async def latency() -> CheckResult:
        samples = []
        for _ in range(LATENCY_SAMPLES):
            t0 = time.perf_counter()
            reply = await printer.ask(printer.language.status_query(),
                                      printer.language.status_complete, timeout)
            if not reply:
                return CheckResult("skip", N_("the printer does not answer status queries"))
            samples.append((time.perf_counter() - t0) * 1000)
        p50, slowest = statistics.median(samples), max(samples)
        data = {"p50_ms": round(p50, 2), "max_ms": round(slowest, 2), "samples": len(samples)}
        detail = N_("status round trip {median} ms median, {worst} ms worst",
                    median=Number(p50, 1), worst=Number(slowest, 1))
        if slowest > LATENCY_WARN_MS:
            return CheckResult("warn", detail, N_("A slow network or a busy printer: check Wi-Fi"
                                                  " signal or cabling."), data)
        return CheckResult("ok", detail, data=data)

    checks.append(await _timed(LATENCY, latency, timeout * LATENCY_SAMPLES + 1))

    async def media() -> CheckResult:
        reported = printer.last.fields.get("label_length_dots")
        wanted = printer.config.media_height_mm
        if not isinstance(reported, int) or reported <= 0:
            return CheckResult("skip", N_("the printer does not report its media size"))
        reported_mm = reported / printer.model.dpi * 25.4
        length = Number(reported_mm, 1)
        data = {"printer_label_length_mm": round(reported_mm, 1), "configured_mm": wanted}
        if wanted is None:
            return CheckResult("ok", N_("the printer measures labels {length} mm long (set "
                                        "media_height_mm in the config to check it)",
                                        length=length), data=data)
        if abs(reported_mm - wanted) > 2.0:
            return CheckResult(
                "warn", N_("labels measure {length} mm, the config says {configured} mm",
                           length=length, configured=Number(wanted)),
                N_("Load the right labels or calibrate the printer's media sensor."), data)
        return CheckResult("ok", N_("labels measure {length} mm as configured", length=length),
                           data=data)

    checks.append(await _timed(MEDIA, media, 1.0))

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
        settings = Message.ngettext("{n} setting read", "{n} settings read", len(data) - 1)
        note = (Message.ngettext("configuration dump: {n} item", "configuration dump: {n} items",
                                 len(dump)) if dump else N_("no configuration dump"))
        return CheckResult("ok", Joined((settings, note)), data=data)

    checks.append(await _timed(CONFIGURATION, configuration, timeout + 0.5))

    for check in extra:
        checks.append(await _timed(check.name, partial(check.run, printer), timeout + 1.0))

    if print_label and label is not None:
        async def test_print() -> CheckResult:
            data = label()
            async with printer.connect() as transport:
                await transport.write(data)
                await transport.finish()
            return CheckResult(
                "ok", Message.ngettext("diagnostic label sent ({n} byte)",
                                       "diagnostic label sent ({n} bytes)", len(data)),
                N_("Scan each barcode on it: the thinnest that scans shows the darkness is"
                   " right."))

        checks.append(await _timed(TEST_PRINT, test_print, printer.timeouts.write + 2))

    if printer.model.text is not None:
        async def code_page() -> CheckResult:
            return await _code_page(printer, print_label)

        checks.append(await _timed(CODE_PAGE, code_page, printer.timeouts.write + 2))
    return checks


def code_page_receipt(printer: Printer) -> bytes | None:
    """The code-page sample as the printer prints receipts (its text route, its profile's
    table for the line), or None when its language has no text route."""
    from labeld.intake.render import FontBook
    from labeld.intake.render.receipt import grid_for, line_raster, parse_receipt

    model, profile = printer.model, printer.model.text
    assert profile is not None
    grid = grid_for(model.print_width_dots, model.dpi, profile.columns,
                    (profile.cell_width, profile.cell_height))
    fonts = FontBook()
    blocks: list[dict[str, Any]] = [{"type": "text", "text": CODE_PAGE_SAMPLE},
                                    {"type": "feed", "lines": 3}]
    if model.cutter:
        blocks.append({"type": "cut"})
    receipt = parse_receipt({"blocks": blocks}, grid, fonts)
    try:
        return printer.language.encode_receipt(receipt, model,
                                               lambda line: line_raster(line, receipt, fonts))
    except NotImplementedError:
        return None


async def _code_page(printer: Printer, print_sample: bool) -> CheckResult:
    """Prints (when asked) the sample line in the table the profile gives for it. No printer
    says which table it really used, so the check shows the line a person should read on the
    paper and names the fault if they read something else."""
    sample = code_page_receipt(printer) if print_sample else None
    if sample is not None:
        async with printer.connect() as transport:
            await transport.write(sample)
            await transport.finish()
    profile = printer.model.text
    assert profile is not None
    data = {"sample": CODE_PAGE_SAMPLE, "printed": sample is not None,
            "profile": profile.source,
            "code_pages": [f"{p.name} (ESC t {p.table})" for p in profile.code_pages],
            "if_it_differs": describe(WRONG_CODE_PAGE)}
    detail = (N_("code-page sample printed: it must read {sample}", sample=CODE_PAGE_SAMPLE)
              if sample is not None else
              N_("print it with print=true; it must read {sample}", sample=CODE_PAGE_SAMPLE))
    return CheckResult("ok", detail, N_("Ask the shop to read the line out. If ő or ű comes out "
                                        "as õ, û or ?, the printer's code page is wrong."), data)


# -- the diagnostic label ----------------------------------------------------------------------

def label_time(now: datetime | None = None, tz: tzinfo | None = None) -> str:
    """The time printed on the diagnostic label: the shop's local time (the clock on its wall;
    `tz`, or this computer's zone), with the zone's name so that a technician elsewhere reads
    it right: "2026-12-07 23:41 CET". A naive `now` is taken as local time."""
    local = (now or datetime.now(UTC)).astimezone(tz)
    zone = local.tzname() or local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {zone}"


def diagnostic_document(printer: Printer, lang: str = i18n.FALLBACK, *,
                        catalogues: Catalogues = i18n.CORE, now: datetime | None = None,
                        tz: tzinfo | None = None) -> dict[str, Any]:
    """The diagnostic label as a label document, worded in `lang` (server.language: the label
    is read at the printer, by whoever stands there)."""
    tr = catalogues.translator(lang)
    model = printer.model
    width_mm = min(model.print_width_dots / model.dpi * 25.4, 100.0)
    title = N_("labeld self-test: {printer}", printer=printer.id).say(tr)
    elements: list[dict[str, Any]] = [
        {"type": "text", "x_mm": 3, "y_mm": 2, "text": title, "size_pt": 9, "bold": True},
        {"type": "text", "x_mm": 3, "y_mm": 7,
         "text": f"{model.id}, {model.dpi} dpi, {label_time(now, tz)}", "size_pt": 7},
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
    return {"width_mm": round(width_mm, 1), "height_mm": y + 2, "elements": elements}


def diagnostic_label(printer: Printer, fonts: FontBook, lang: str = i18n.FALLBACK, *,
                     catalogues: Catalogues = i18n.CORE, now: datetime | None = None,
                     tz: tzinfo | None = None) -> bytes:
    """A label that tells a technician about the printer at a glance: its id and the local
    time, a dpi ruler, and Code 128 samples at several module widths to judge darkness and
    scannability; in the printer's language, worded in `lang`."""
    from labeld.intake.render import parse_label, render_label

    doc = diagnostic_document(printer, lang, catalogues=catalogues, now=now, tz=tz)
    raster = render_label(parse_label(doc, default_dpi=printer.model.dpi), fonts)
    return printer.language.encode_raster([raster], printer.model,
                                          PrintOptions(copies=1, cut=True))
