"""A typed wrapper around pluggy that loads plugins one by one and isolates their failures.

pluggy's own `load_setuptools_entrypoints` stops at the first plugin that fails to import, and one
raising hookimpl discards every other plugin's result. A print daemon must keep printing on the
printers whose plugins are fine, so both are done here per plugin, with every failure recorded
for `GET /v1/plugins` and the log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pluggy

from labeld import hookspecs
from labeld.contracts import (FoundDevice, Guide, Language, MaintenanceAction, Model, SelfTestCheck,
                             SimulatorSpec, Template, Transport)

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class PluginManager:
    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._infos: dict[str, PluginInfo] = {}

    # -- loading ---------------------------------------------------------------------------

    def load_entrypoints(self, group: str = hookspecs.PROJECT) -> None:
        for ep in entry_points(group=group):
            dist = getattr(ep, "dist", None)
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.name if dist else None,
                version=dist.version if dist else None,
            )
            self._infos[ep.name] = info
            try:
                self.register(ep.load(), ep.name, info)
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the others down
                info.errors.append(f"failed to load: {type(exc).__name__}: {exc}")
                log.error("plugin %s (%s) failed to load: %s", ep.name, ep.value, exc)

    def register(self, plugin: ModuleType | object, name: str,
                 info: PluginInfo | None = None) -> None:
        self._pm.register(plugin, name=name)
        self._pm.check_pending()  # a misspelt hook name fails loudly here, not silently later
        info = info or self._infos.setdefault(
            name, PluginInfo(name=name, module=getattr(plugin, "__name__", repr(plugin)))
        )
        self._infos[name] = info
        info.hooks = sorted(caller.name for caller in self._pm.get_hookcallers(plugin) or [])

    # -- asking ----------------------------------------------------------------------------

    def _collect(self, hook_name: str, key: Callable[[T], str], kind: str) -> dict[str, T]:
        """Call one hook on every plugin separately; the first plugin to claim a key wins and a
        later duplicate is reported on the later plugin."""
        found: dict[str, T] = {}
        owner: dict[str, str] = {}
        caller = getattr(self._pm.hook, hook_name)
        for impl in caller.get_hookimpls():  # in registration order: built-ins before outsiders
            for item in self._call(impl, hook_name):
                k = key(item)
                if k in found:
                    self._report(impl.plugin_name,
                                 f"{kind} {k!r} is already provided by plugin {owner[k]!r}; "
                                 "ignored")
                    continue
                found[k] = item
                owner[k] = impl.plugin_name
        return found

    def transports(self) -> dict[str, type[Transport]]:
        return self._collect("labeld_transports", lambda t: t.scheme, "transport")

    def languages(self) -> dict[str, Language]:
        return self._collect("labeld_languages", lambda lang: lang.name, "language")

    def models(self) -> dict[str, Model]:
        return self._collect("labeld_models", lambda m: m.id, "model")

    def simulators(self) -> dict[str, SimulatorSpec]:
        return self._collect("labeld_simulators", lambda s: s.name, "simulator")

    def templates(self) -> dict[str, Template]:
        return self._collect("labeld_templates", lambda t: t.name, "template")

    def selftest_checks(self, model_id: str) -> list[SelfTestCheck]:
        checks = [c for impl in self._pm.hook.labeld_selftest_checks.get_hookimpls()
                  for c in self._call(impl, "labeld_selftest_checks")]
        return [c for c in checks if not c.models or model_id in c.models]

    def guides(self) -> list[Guide]:
        """Every plugin's guided fixes, in registration order (built-ins first)."""
        return [g for impl in self._pm.hook.labeld_guides.get_hookimpls()
                for g in self._call(impl, "labeld_guides")]

    def maintenance_actions(self, model: Model) -> list[MaintenanceAction]:
        """The actions declared for a printer of `model`: its language's, narrowed to the
        models an action names. An id taken twice keeps the first (built-ins first)."""
        found: dict[str, MaintenanceAction] = {}
        for impl in self._pm.hook.labeld_maintenance_actions.get_hookimpls():
            for action in self._call(impl, "labeld_maintenance_actions"):
                if action.language != model.language or (
                        action.models and model.id not in action.models):
                    continue
                found.setdefault(action.id, action)
        return list(found.values())

    def locale_dirs(self) -> list[Path]:
        """Every plugin's `labeld_locale_dirs`, in registration order (built-ins first, and the
        first directory to word an id keeps it). A plugin that raises, or names a directory
        that is not there (its catalogues left out of the package), is reported; the others'
        words still count."""
        dirs: list[Path] = []
        for impl in self._pm.hook.labeld_locale_dirs.get_hookimpls():
            for item in self._call(impl, "labeld_locale_dirs"):
                path = Path(item)
                if path.is_dir():
                    dirs.append(path)
                else:
                    log.error("plugin %s: locale directory %s does not exist", impl.plugin_name,
                              path)
                    self._report(impl.plugin_name,
                                 f"labeld_locale_dirs: {path} is not a directory; ignored")
        return dirs

    def model_owners(self) -> dict[str, str]:
        """Model id -> name of the plugin that provides it."""
        owners: dict[str, str] = {}
        for impl in self._pm.hook.labeld_models.get_hookimpls():
            try:
                for m in impl.function() or []:
                    owners.setdefault(m.id, impl.plugin_name)
            except Exception:  # noqa: BLE001 - models() reports the plugin's error
                continue
        return owners

    def discover(self) -> list[FoundDevice]:
        """Every plugin's `labeld_discover`, one at a time: a plugin that raises is reported
        and the others still answer. Blocking (buses are scanned): call it off the event loop."""
        models = list(self.models().values())
        return [device for impl in self._pm.hook.labeld_discover.get_hookimpls()
                for device in self._call(impl, "labeld_discover", models=models)]

    def _call(self, impl: Any, hook_name: str, **kwargs: Any) -> list[Any]:
        """One plugin's answer to a hook; a plugin that raises is logged, its error kept for
        GET /v1/plugins, and counts as having answered nothing."""
        try:
            return list(impl.function(**kwargs) or [])
        except Exception as exc:  # noqa: BLE001 - a plugin's bug is reported, not raised
            msg = f"{hook_name} raised {type(exc).__name__}: {exc}"
            log.error("plugin %s: %s", impl.plugin_name, msg)
            self._report(impl.plugin_name, msg)
            return []

    def _report(self, plugin_name: str, msg: str) -> None:
        """Keep a plugin's problem for GET /v1/plugins (once)."""
        info = self._infos.get(plugin_name)
        if info and msg not in info.errors:
            info.errors.append(msg)

    def infos(self) -> list[PluginInfo]:
        return sorted(self._infos.values(), key=lambda i: i.name)


def default_manager() -> PluginManager:
    pm = PluginManager()
    pm.load_entrypoints()
    return pm
