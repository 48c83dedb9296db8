"""Zebra ZPL II: the language driver and a simulated Zebra printer."""

from labeld.contracts import Language, SimulatorSpec
from labeld.hookspecs import hookimpl


@hookimpl
def labeld_languages() -> list[Language]:
    from labeld.drivers.zpl.language import ZplLanguage

    return [ZplLanguage()]


@hookimpl
def labeld_simulators() -> list[SimulatorSpec]:
    from labeld.drivers.zpl.simulator import SPEC

    return [SPEC]
