"""TSC TSPL / TSPL2: the language driver (raster labels, `<ESC>!?` status) and a simulated TSC
printer."""

from labeld.contracts import Language, SimulatorSpec
from labeld.hookspecs import hookimpl


@hookimpl
def labeld_languages() -> list[Language]:
    from labeld.drivers.tspl.language import TsplLanguage

    return [TsplLanguage()]


@hookimpl
def labeld_simulators() -> list[SimulatorSpec]:
    from labeld.drivers.tspl.simulator import SPEC

    return [SPEC]
