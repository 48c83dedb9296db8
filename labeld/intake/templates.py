"""Label templates: built-ins from plugins, plus the operator's own in a folder (NAME.json).

The folder wins over a built-in of the same name, so a shop can restyle a stock template
without touching code; deleting its copy brings the built-in back.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from labeld.contracts import Template
from labeld.errors import Conflict, Invalid, NotFound
from labeld.intake.placeholders import fields, validate_template

NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_TEMPLATE_BYTES = 256 * 1024


class TemplateStore:
    def __init__(self, folder: str | Path, builtins: dict[str, Template]):
        self.folder = Path(folder)
        self.builtins = builtins

    def _path(self, name: str) -> Path:
        if not NAME.match(name):
            raise Invalid("invalid-template-name", f"{name!r} is not a template name.",
                          "Use lower-case letters, digits and dashes.")
        return self.folder / f"{name}.json"

    def names(self) -> list[dict[str, Any]]:
        out = {n: {"name": n, "source": "builtin", "description": t.description}
               for n, t in self.builtins.items()}
        if self.folder.is_dir():
            for f in sorted(self.folder.glob("*.json")):
                out[f.stem] = {"name": f.stem, "source": "folder", "description": ""}
        for name, info in out.items():
            try:
                info["fields"] = sorted(fields(self.get(name)))
            except (Invalid, NotFound):
                info["fields"] = []
        return sorted(out.values(), key=lambda i: i["name"])

    def get(self, name: str) -> dict[str, Any]:
        path = self._path(name)
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise Invalid("invalid-template", f"Template {name!r} cannot be read: {exc}.",
                              f"Fix or delete {path}.") from None
        if name in self.builtins:
            return self.builtins[name].document
        raise NotFound("unknown-template", f"There is no template {name!r}.",
                       "List templates with GET /v1/templates.")

    def sample(self, name: str) -> dict[str, Any]:
        """Data that fills the template's placeholders, where its plugin gave some (a stored
        template of a built-in's name keeps the built-in's sample for the fields it shares)."""
        builtin = self.builtins.get(name)
        if builtin is None:
            return {}
        wanted = fields(self.get(name))
        return {k: v for k, v in builtin.sample.items() if k in wanted}

    def put(self, name: str, document: Any) -> bool:
        """Store (or replace) a template; returns True when it was new."""
        path = self._path(name)
        validate_template(document)
        text = json.dumps(document, ensure_ascii=False, indent=2)
        if len(text.encode()) > MAX_TEMPLATE_BYTES:
            raise Invalid("template-too-large",
                          f"Template {name!r} is over {MAX_TEMPLATE_BYTES // 1024} KiB.",
                          "Templates hold layout, not images.")
        created = not path.exists()
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)  # a reader never sees half a template
        return created

    def delete(self, name: str) -> None:
        path = self._path(name)
        if path.is_file():
            path.unlink()
            return
        if name in self.builtins:
            raise Conflict("builtin-template", f"{name!r} is built in and cannot be deleted.",
                           "Store a template of the same name to override it.")
        raise NotFound("unknown-template", f"There is no template {name!r}.", "")
