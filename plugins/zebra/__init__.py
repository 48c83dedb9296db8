"""Zebra label printers speaking ZPL II."""

from __future__ import annotations

from pathlib import Path

from labeld.contracts import (ActionParam, CheckResult, Guide, MaintenanceAction, Model,
                              PrinterUnderTest, Role, SelfTestCheck)
from labeld.hookspecs import hookimpl
from labeld.i18n import N_
from labeld.langkit import sends

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
    from labeld.drivers.zpl.language import HQES_QUERY, decode_hqes, hqes_complete

    reply = await printer.ask(HQES_QUERY, hqes_complete, printer.status_timeout)
    if not reply:
        return CheckResult("skip", N_("the printer does not answer ~HQES (older firmware)"))
    reasons, fields = decode_hqes(reply)
    return verdict(reasons, fields, N_("no error or warning flags"))


@hookimpl
def labeld_selftest_checks() -> list[SelfTestCheck]:
    # The check's words are gettext sentences (N_), worded in the reader's language.
    return [SelfTestCheck(N_("error and warning flags (~HQES)"), _error_word,
                          models=tuple(m.id for m in MODELS))]



# Zebra desktop printers (ZD421, GK420 class) open differently from labeld's generic words: a
# release latch on each side, pulled towards you, lifts the whole cover. The drawing (no words
# in it: the page says them) shows the two latches in orange, the media sensor in blue and the
# FEED button in green.
DRAWING = Path(__file__).parent / "drawings" / "zebra-desktop.svg"


@hookimpl
def labeld_guides() -> list[Guide]:
    from labeld.i18n import N_

    open_cover = N_("Pull both release latches (one on each side) towards you and lift the"
                    " cover.")
    close_cover = N_("Press the cover down on both sides at once until both latches click.")
    feed = N_("Press the FEED button once: one blank label comes out.")
    ready = N_("The status light is steady green.")
    return [
        Guide("paper-out", (
            open_cover,
            N_("Pull the roll holders apart and put the new roll between them, labels coming"
               " off the top, printed side up."),
            N_("Lead the labels under the guides and out past the front of the printer."),
            close_cover,
            feed,
        ), N_("The status light is steady green and the label stops at the tear-off edge."),
            drawing=DRAWING, language="zpl"),
        Guide("head-open", (
            N_("The cover is the print head: it is not closed on both sides."),
            close_cover,
            N_("If it does not stay closed, open it fully and check that no label is caught"
               " at the sides, then close it again."),
        ), ready, drawing=DRAWING, language="zpl"),
        Guide("ribbon-out", (
            open_cover,
            N_("Take out the empty ribbon (on a ZD421: the whole ribbon cartridge)."),
            N_("Put in the new ribbon or cartridge until it clicks, shiny side towards the"
               " labels."),
            close_cover,
            feed,
        ), N_("The ribbon light is off and the label comes out printed black, not pale."),
            drawing=DRAWING, language="zpl"),
        Guide("paused", (
            N_("Press the PAUSE button once."),
        ), N_("The pause light is off and waiting labels start printing."),
            drawing=DRAWING, language="zpl"),
    ]


# -- maintenance actions ---------------------------------------------------------------------
# The few operations a shop may run on a Zebra without a technician's raw ZPL, each one control
# command (reference 1.4, 1.5). They are sent alone, between jobs, so none can cut into a label.

CALIBRATE = b"~JC"  # media calibration: feeds labels until it has measured label and gap
CONFIG_LABEL = b"~WC"  # prints the configuration label
FEED = b"~PH"  # slew to home: feeds one blank label, as the FEED button does
CANCEL_BUFFER = b"~JA"  # cancel all: what is in the buffer is dropped, not printed
# Darkness (~SD, 00-30): outside 10-25 labels fade on direct thermal media or the head wears
# and smears; a technician may choose within that range, never beyond from here.
DARKNESS = ActionParam("darkness", minimum=10, maximum=25, default=15,
                       label=N_("Darkness (10 to 25)"))


def darkness_command(value: int | None) -> bytes:
    """`~SDnn`, two digits; the daemon checked `value` against DARKNESS before calling."""
    return b"~SD%02d" % (DARKNESS.default if value is None else value)


ACTIONS = [
    MaintenanceAction(
        id="calibrate", title=N_("Calibrate the labels"),
        explanation=N_("The printer feeds a few labels to measure them and the gap between "
                       "them. Do this after loading a different kind of label, or when labels "
                       "come out shifted or a blank one follows each label."),
        role=Role.STAFF, command=sends(CALIBRATE), language="zpl", prints=True),
    MaintenanceAction(
        id="config-label", title=N_("Print the configuration label"),
        explanation=N_("The printer prints one label listing its settings. Keep it for the "
                       "technician: it shows darkness, speed, label size and network settings."),
        role=Role.STAFF, command=sends(CONFIG_LABEL), language="zpl", prints=True),
    MaintenanceAction(
        id="feed", title=N_("Feed one label"),
        explanation=N_("The printer feeds one blank label, like pressing its FEED button. Use "
                       "it to check that labels move and tear off at the right place."),
        role=Role.STAFF, command=sends(FEED), language="zpl", prints=True),
    MaintenanceAction(
        id="darkness", title=N_("Set the darkness"),
        explanation=N_("Makes the print darker or lighter. Too light and barcodes do not scan; "
                       "too dark and the print smears and the print head wears faster. Change "
                       "it in small steps and print a test label after each."),
        role=Role.TECH, command=darkness_command, language="zpl", param=DARKNESS),
    MaintenanceAction(
        id="cancel-buffer", title=N_("Clear the printer's memory"),
        explanation=N_("Labels the printer has received but not printed yet are thrown away, "
                       "other computers' labels too. Use it when the printer keeps printing "
                       "something it should not."),
        role=Role.STAFF, command=sends(CANCEL_BUFFER), language="zpl"),
]


@hookimpl
def labeld_maintenance_actions() -> list[MaintenanceAction]:
    return list(ACTIONS)
