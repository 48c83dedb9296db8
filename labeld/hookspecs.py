"""The hooks a labeld plugin may implement (entry-point group ``labeld``).

Every hook returns a list so that one plugin can provide several things; the plugin manager
flattens the lists and reports which plugin provided what. Built-in drivers and models are
plugins too: they implement these hooks exactly as a third-party package would.
"""

from __future__ import annotations

import pluggy

from labeld.contracts import (FoundDevice, Language, Model, SelfTestCheck, SimulatorSpec,
                              Template, Transport)

PROJECT = "labeld"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def labeld_transports() -> list[type[Transport]]:
    """Transport classes this plugin provides, each bound to the URI scheme in its ``scheme``
    attribute (``socket``, ``usb``, ``serial``, ``file``, ``cups``). A printer whose ``uri`` starts
    with ``scheme:`` is reached through that class."""


@hookspec
def labeld_languages() -> list[Language]:
    """Printer language drivers (instances), each named by its ``name`` attribute (``zpl``,
    ``escpos``, ...). A language turns payloads into bytes and decodes status replies."""


@hookspec
def labeld_models() -> list[Model]:
    """Printer models this plugin knows: id, language, dpi, print width, cutter, crash policy and
    identification. A printer in the config names one of these ids as its ``model``."""


@hookspec
def labeld_simulators() -> list[SimulatorSpec]:
    """Virtual printers that ``labeld simulate NAME`` can start on loopback, speaking a real
    printer protocol byte for byte and accepting injected faults."""


@hookspec
def labeld_templates() -> list[Template]:
    """Built-in label templates (read-only): a label document with ``{{ field }}`` placeholders
    that jobs fill with ``"template": NAME, "data": {...}``. A template of the same name in the
    templates folder overrides it."""


@hookspec
def labeld_selftest_checks() -> list[SelfTestCheck]:
    """Extra self-test checks, each for the model ids it names (or all models), run after the
    built-in checks by ``POST /v1/printers/{id}/selftest``: the place for model knowledge such as
    a Zebra's detailed error word or a firmware known to be buggy."""



@hookspec
def labeld_discover(models: list[Model]) -> list[FoundDevice]:
    """Printers this plugin finds on the machine's buses right now (the USB transport: devices
    with a printer-class interface or a known model's USB ids), each with the URI to configure
    and the id of the model in ``models`` it matches, if any. Called on demand (``GET
    /v1/discover``, ``labeld discover``), never at start; returns an empty list when the bus or
    its library is missing, and should finish within a few seconds."""
