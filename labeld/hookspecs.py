"""The hooks a labeld plugin may implement (entry-point group ``labeld``).

Every hook returns a list so that one plugin can provide several things; the plugin manager
asks each plugin in turn, flattens the lists, reports which plugin provided what, and counts a
plugin that raises as having answered nothing (its error shows in ``GET /v1/plugins``). Built-in
drivers and models are plugins too: they implement these hooks exactly as a third-party package
would.

Each hook's docstring says what it is asked for, with a ``:param name:`` line for every
parameter and a ``:return:`` line; ``tests/test_docs.py`` holds the docstrings and the README's
plugin section to the signatures here. A hook's body is never run: pluggy calls the plugins'
implementations (``@hookimpl``) of it.
"""

from __future__ import annotations

from pathlib import Path

import pluggy

from labeld.contracts import (FoundDevice, Guide, Language, MaintenanceAction, Model,
                              SelfTestCheck, SimulatorSpec, Template, Transport)

PROJECT = "labeld"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def labeld_transports() -> list[type[Transport]]:
    """Transport classes this plugin provides. A printer whose ``uri`` starts with ``scheme:``
    is reached through the class whose ``scheme`` attribute is that scheme (``socket``, ``usb``,
    ``serial``, ``file``); the first plugin to claim a scheme keeps it.

    :return: ``Transport`` subclasses (the classes, not instances: labeld opens one per job or
        status query).
    """


@hookspec
def labeld_languages() -> list[Language]:
    """Printer language drivers: a language turns payloads into bytes, asks for and decodes
    status replies, and brings its raw-command policy.

    :return: ``Language`` instances, each named by its ``name`` attribute (``zpl``, ``escpos``,
        ``tspl``...).
    """


@hookspec
def labeld_models() -> list[Model]:
    """Printer models this plugin knows. A printer in the config names one of these ids as its
    ``model``.

    :return: ``Model`` descriptions: id, name, language, dpi, print width, kind, cutter, crash
        policy and USB ids.
    """


@hookspec
def labeld_simulators() -> list[SimulatorSpec]:
    """Virtual printers that ``labeld simulate NAME`` (and ``labeld demo``) can start on
    loopback, speaking a real printer protocol byte for byte and accepting injected faults.

    :return: ``SimulatorSpec`` entries: name, language, description, fault names and the
        factory that makes the simulated device.
    """


@hookspec
def labeld_templates() -> list[Template]:
    """Built-in label templates (read-only) that jobs fill with ``"template": NAME, "data":
    {...}``. A template of the same name in the templates folder overrides it.

    :return: ``Template`` entries: name, a label document with ``{{ field }}`` placeholders and
        a description.
    """


@hookspec
def labeld_selftest_checks() -> list[SelfTestCheck]:
    """Extra self-test checks, run after the built-in checks by ``POST
    /v1/printers/{id}/selftest``: the place for model knowledge such as a Zebra's detailed error
    word or a firmware known to be buggy.

    :return: ``SelfTestCheck`` entries, each for the model ids it names (none: every model).
    """


@hookspec
def labeld_locale_dirs() -> list[Path]:
    """Gettext catalogues for the words of this plugin's own reason codes (a decoder that
    reports ``acme-hopper-empty`` says what it found; the words shop staff read live here).
    Each directory is laid out like ``labeld/locale``: ``<lang>/LC_MESSAGES/labeld.po`` (or a
    compiled ``.mo``) for ``en`` and ``hu``, with ``reason.<code>.message`` and
    ``reason.<code>.hint`` for every code the plugin reports. labeld's own message ids keep
    labeld's words; a message missing in Hungarian is shown in the plugin's English.

    :return: locale directories, usually one shipped beside the plugin's module.
    """


@hookspec
def labeld_discover(models: list[Model]) -> list[FoundDevice]:
    """Printers this plugin finds on the machine's buses right now (the USB transport: devices
    with a printer-class interface or a known model's USB ids). Called on demand (``GET
    /v1/discover``, ``labeld discover``), never at start, off the event loop; it should finish
    within a few seconds.

    :param models: every model the loaded plugins provide, to match a device's identity (USB
        ids) against. labeld passes it by name, so an implementation takes ``models`` too.
    :return: ``FoundDevice`` entries, each with the URI to configure, a description and the id
        of the model in ``models`` it matches (None if none does); an empty list when the bus or
        its library is missing.
    """


@hookspec
def labeld_guides() -> list[Guide]:
    """Guided fixes: numbered steps for someone standing at the printer, what they should see,
    a drawing, and what "did it work?" checks. For a printer the guide naming its model wins,
    then its language's, then labeld's own for every printer.

    :return: ``Guide`` entries, one per code and scope (``models``, ``language``, or neither).
    """


@hookspec
def labeld_maintenance_actions() -> list[MaintenanceAction]:
    """Safe, rarely used operations a model supports (calibrate media, print the configuration
    label, feed, set darkness...). Only what is declared here can be run, through the queue of
    a printer of the action's language (and, when ``models`` is set, of those models).

    :return: ``MaintenanceAction`` entries: id, title, explanation, role, command, language.
    """
