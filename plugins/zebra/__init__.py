"""Zebra label printers speaking ZPL II."""

from __future__ import annotations

from labeld.contracts import CheckResult, Model, PrinterUnderTest, SelfTestCheck
from labeld.hookspecs import hookimpl

ZEBRA_VID = 0x0A5F

MODELS = [
    Model(
        id="zebra-generic-203",
        name="Zebra ZPL printer, 203 dpi, 4 inch (ZD421, ZD420, GK420d, ZT230 class)",
        language="zpl",
        dpi=203,
        print_width_dots=832,  # 104 mm at 8 dots/mm
        printer_type="label",
        crash_policy="retry",
    ),
    Model(
        id="zebra-generic-300",
        name="Zebra ZPL printer, 300 dpi, 4 inch (ZD421 300 dpi, ZT411 300 dpi class)",
        language="zpl",
        dpi=300,
        print_width_dots=1248,  # 104 mm at 12 dots/mm
        printer_type="label",
        crash_policy="retry",
    ),
]


@hookimpl
def labeld_models() -> list[Model]:
    return list(MODELS)


async def _error_word(printer: PrinterUnderTest) -> CheckResult:
    """~HQES: the detailed error and warning words, richer than ~HS (cutter, head element,
    calibration, clean head...), and answered by Zebras that stay silent on ~HS in a fault."""
    from labeld.diagnostics.selftest import verdict
    from labeld.i18n import N_
    from labeld.drivers.zpl.language import HQES_QUERY, decode_hqes, hqes_complete

    reply = await printer.ask(HQES_QUERY, hqes_complete, printer.status_timeout)
    if not reply:
        return CheckResult("skip", N_("the printer does not answer ~HQES (older firmware)"))
    reasons, fields = decode_hqes(reply)
    return verdict(reasons, fields, N_("no error or warning flags"))


@hookimpl
def labeld_selftest_checks() -> list[SelfTestCheck]:
    # The check's words are gettext sentences (N_), worded in the reader's language.
    from labeld.i18n import N_

    return [SelfTestCheck(N_("error and warning flags (~HQES)"), _error_word,
                          models=tuple(m.id for m in MODELS))]

