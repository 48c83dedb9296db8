"""ESC/POS receipt printers: labeld's generic 80/58 mm models and every profile of python-escpos's
capability database (Epson TM-T20II/T88, Star TSP600 in ESC/POS mode, Citizen, Seiko...)."""

from pathlib import Path

from labeld.contracts import Guide, MaintenanceAction, Model, Role
from labeld.hookspecs import hookimpl
from labeld.i18n import N_
from labeld.langkit import sends
from labeld.plugins.escpos_generic.profiles import generic_models, load, profile_models

# labeld's generic 80 and 58 mm models, then one per profile of python-escpos's capability
# database (profiles.py): code pages with their table numbers, columns, cutter, barcodes, QR.
_DB = load()
MODELS = generic_models(_DB) + profile_models(_DB)


@hookimpl
def labeld_models() -> list[Model]:
    return list(MODELS)


# Receipt printers (TM-T20 class) open with a button on the front, and the roll goes in with
# the paper coming off from under it: put in the other way round the receipt comes out blank
# (thermal paper prints on one side only). The drawing shows the cover-open button in orange,
# the feed button in green and the paper's way as an arrow.
DRAWING = Path(__file__).parent / "drawings" / "receipt-printer.svg"


@hookimpl
def labeld_guides() -> list[Guide]:
    from labeld.i18n import N_

    press_open = N_("Press the cover-open button on the front and lift the cover.")
    close_cover = N_("Close the cover firmly in the middle until it clicks.")
    return [
        Guide("paper-out", (
            press_open,
            N_("Take out the empty core."),
            N_("Drop the new roll in so that the paper comes off from under the roll, towards"
               " you."),
            N_("Pull a few centimetres of paper out past the edge."),
            close_cover,
            N_("Tear off the extra paper against the cutter edge."),
        ), N_("The paper light is off and the printer is quiet."),
            drawing=DRAWING, language="escpos"),
        Guide("cover-open", (
            N_("Check that the end of the paper sticks out between the cover and the case."),
            close_cover,
        ), N_("The error light is off."), drawing=DRAWING, language="escpos"),
        Guide("cutter-error", (
            N_("Switch the printer off and on again: the cutter usually goes back by itself."),
            press_open,
            N_("If the cover does not open, do not force it: call the technician."),
            N_("Remove the paper caught at the cutter; do not touch the blade."),
            close_cover,
        ), N_("The error light is off and the next receipt is cut cleanly."),
            drawing=DRAWING, language="escpos"),
    ]


# -- maintenance actions ---------------------------------------------------------------------
# Built from the commands every ESC/POS printer knows (reference 2.7), not the model's own test
# print (GS ( A differs between makers and prints metres of paper on some).

INIT = b"\x1b@"  # ESC @: back to the default settings, so nothing left over changes the test
FEED_LINES = b"\x1bd\x05"  # ESC d 5: print and feed 5 lines, past the cutter
CUT = b"\x1dV\x00"  # GS V 0: full cut
# Words in no language but both (a receipt's code page is the till's business): the title and
# every letter and digit, which show a faint or missing stretch of the print head at a glance.
TEST_TEXT = (b"\x1ba\x01"  # ESC a 1: centred
             b"TEST / TESZT\n"
             b"--------------------------------\n"
             b"ABCDEFGHIJKLMNOPQRSTUVWXYZ\n"
             b"abcdefghijklmnopqrstuvwxyz\n"
             b"0123456789 +-*/=%.,:;!?()\n"
             b"################################\n"
             b"\x1ba\x00")  # ESC a 0: left again
CUTTERS = tuple(m.id for m in MODELS if m.cutter)
NO_CUTTER = tuple(m.id for m in MODELS if not m.cutter)
TEST_WORDS = {
    "title": N_("Print a test receipt"),
    "explanation": N_("The printer prints a short receipt. If the text is faint, patchy or "
                      "missing, the paper may be in the wrong way round or the print head "
                      "may need cleaning.")}
FEED_WORDS = {
    "title": N_("Feed paper"),
    "explanation": N_("The printer feeds a few lines of paper. Use it after changing the roll "
                      "to check that paper comes out straight.")}

ACTIONS = [
    MaintenanceAction(id="test-print", **TEST_WORDS, role=Role.STAFF, language="escpos",
                      command=sends(INIT + TEST_TEXT + FEED_LINES + CUT), prints=True,
                      models=CUTTERS),
    MaintenanceAction(id="test-print", **TEST_WORDS, role=Role.STAFF, language="escpos",
                      command=sends(INIT + TEST_TEXT + FEED_LINES), prints=True,
                      models=NO_CUTTER),
    MaintenanceAction(
        id="feed-cut", title=N_("Feed and cut the paper"),
        explanation=N_("The printer feeds a few lines of paper and cuts it. Use it after "
                       "changing the roll, to check that paper comes out and the cutter cuts."),
        role=Role.STAFF, command=sends(FEED_LINES + CUT), language="escpos", prints=True,
        models=CUTTERS),
    MaintenanceAction(id="feed", **FEED_WORDS, role=Role.STAFF, command=sends(FEED_LINES),
                      language="escpos", prints=True, models=NO_CUTTER),
]


@hookimpl
def labeld_maintenance_actions() -> list[MaintenanceAction]:
    return list(ACTIONS)
