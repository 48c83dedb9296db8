"""ESC/POS (Epson TM and compatibles): the language driver and a simulated receipt printer."""

from labeld.contracts import Language, SimulatorSpec
from labeld.hookspecs import hookimpl


@hookimpl
def labeld_languages() -> list[Language]:
    from labeld.drivers.escpos.language import EscposLanguage

    return [EscposLanguage()]


@hookimpl
def labeld_simulators() -> list[SimulatorSpec]:
    from labeld.drivers.escpos.simulator import SPEC

    return [SPEC]
