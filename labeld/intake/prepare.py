"""Intake: from a job request to what the store keeps: raw bytes, or rendered pages.

Labels, templates and documents are rendered when the job is submitted, not when it prints: bad
input is a 422 to the client that sent it (never a job that prints garbage later), and the
preview shows exactly the pixels that will be encoded.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from labeld.contracts import Language, Model, Raster, RawWarning, Role
from labeld.errors import Invalid, NotFound
from labeld.intake.placeholders import fill
from labeld.intake.policy import check_raw
from labeld.intake.render import FontBook, parse_label, render_label
from labeld.intake.render.documents import document_to_rasters
from labeld.intake.render.receipt import grid_for, line_raster, parse_receipt, render_receipt
from labeld.intake.templates import TemplateStore

log = logging.getLogger(__name__)
T = TypeVar("T")


class Printer(Protocol):
    """What intake needs to know of the printer a job is for (delivery's Printer has it):
    intake comes before delivery on the road and does not import it."""

    @property
    def id(self) -> str: ...

    model: Model
    language: Language


@dataclass
class Prepared:
    kind: str
    payload: dict[str, Any]  # what the store keeps to describe the job (no large blobs)
    pages: list[Raster] = field(default_factory=list)
    raw: bytes | None = None  # a raw job's bytes: decoded here once, stored and sent as they are
    # What the printer would misprint in a raw job: accepted anyway, the warnings go with it.
    warnings: list[RawWarning] = field(default_factory=list)


def render_label_for(doc: dict[str, Any], printer: Printer, fonts: FontBook) -> Raster:
    model = printer.model
    label = parse_label(doc, default_dpi=model.dpi)
    if label.dpi != model.dpi:
        raise Invalid("dpi-mismatch",
                      f"The label is laid out for {label.dpi} dpi but {printer.id} prints at "
                      f"{model.dpi} dpi.", "Leave out dpi: labels default to the printer's.")
    raster = render_label(label, fonts)
    _check_width(raster, printer)
    return raster


def _check_width(raster: Raster, printer: Printer) -> None:
    if raster.width > printer.model.print_width_dots:
        width_mm = printer.model.print_width_dots / printer.model.dpi * 25.4
        raise Invalid("does-not-fit",
                      f"The page is {raster.width} dots wide; {printer.id} prints at most "
                      f"{printer.model.print_width_dots} dots ({width_mm:.0f} mm).",
                      "Make the label narrower or send it to a wider printer.")


def raw_warnings(data: bytes, printer: Printer,
                 languages: Mapping[str, Language] | None = None) -> list[RawWarning]:
    """What `printer` would misprint in raw `data`: its language's own warnings
    (`Language.raw_warnings`), and `language-mismatch` when the bytes look like another of
    `languages` (every loaded one) and not like the printer's own."""
    own = printer.language
    found = _asked(own, lambda: list(own.raw_warnings(data)), [])
    if languages and not _asked(own, lambda: own.looks_like(data), True):
        others = [name for name, language in sorted(languages.items())
                  if name != own.name and _looks_like(language, data)]
        if others:
            like = " or ".join(others)
            found.append(RawWarning(
                "language-mismatch",
                f"The job looks like {like}, but printer {printer.id} speaks {own.name}: it "
                "would print the commands as text, or nothing.",
                f"Send {own.name} to this printer (GET /v1/printers names each printer's "
                f"language), or send this job to a {like} printer."))
    return found


def _looks_like(language: Language, data: bytes) -> bool:
    return _asked(language, lambda: language.looks_like(data), False)


def _asked(language: Language, question: Callable[[], T], otherwise: T) -> T:
    """A language's answer, or `otherwise` when it fails: a plugin's bug in a warning check
    must not refuse (or fail) every raw job."""
    try:
        return question()
    except Exception:  # a warning is advice: the job goes on without it
        log.exception("language %s failed checking a raw job for warnings", language.name)
        return otherwise


def prepare(kind: str, request: dict[str, Any], printer: Printer, fonts: FontBook,
            templates: TemplateStore, *, role: Role | None = None,
            languages: Mapping[str, Language] | None = None) -> Prepared:
    """Validate and render one job payload. Raises LabeldError (422, 404) for bad input, and
    for a raw job Forbidden (403) when it holds a command `role` may not send (None: the
    caller checked already). A raw job the printer would misprint is accepted with
    `warnings` (see raw_warnings; `languages` are the loaded ones, to tell another printer's
    language)."""
    if kind == "raw":
        data: bytes = request["raw"]["data"]
        if role is not None:
            # Raw bytes go to the printer as they are: the language's command policy decides
            # what this role may send (no factory resets from a price field).
            check_raw(printer.language, data, role, copies=int(request.get("copies") or 1))
        return Prepared(kind, {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()},
                        raw=data, warnings=raw_warnings(data, printer, languages))
    if kind == "label":
        return Prepared(kind, {"label": request["label"]},
                        [render_label_for(request["label"], printer, fonts)])
    if kind == "template":
        name, data = request["template"], request.get("data") or {}
        try:
            doc = fill(templates.get(name), data)
        except NotFound as exc:  # in a job, a bad template name is bad input: 422, not 404
            raise Invalid(exc.code, exc.message, exc.hint) from None
        return Prepared(kind, {"template": name, "data": data},
                        [render_label_for(doc, printer, fonts)])
    if kind == "document":
        document = request["document"]
        raw = _b64(document.get("data", ""))
        pages = document_to_rasters(document.get("content_type", ""), raw,
                                    width_dots=printer.model.print_width_dots,
                                    dpi=printer.model.dpi,
                                    dither=document.get("dither") or "floyd-steinberg")
        # every page is scaled to the print width, so no width check is needed here
        return Prepared(kind, {"content_type": document.get("content_type"), "pages": len(pages),
                               "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()},
                        pages)
    if kind == "receipt":
        return prepare_receipt(request["receipt"], printer, fonts)
    raise Invalid("payload-not-supported", f"Unknown payload kind {kind!r}.", "")


def prepare_receipt(doc: dict[str, Any], printer: Printer, fonts: FontBook) -> Prepared:
    """A receipt laid out on the printer's grid of cells (its profile's, else 12 x 24-dot cells
    across the print width), drawn for the preview, and encoded as text by the printer's
    language where it has a text route (`raw`, sent as it is); else its pages print as rasters.
    A character nothing can print is a 422 (`unprintable-character`)."""
    model = printer.model
    profile = model.text
    grid = grid_for(model.print_width_dots, model.dpi, profile.columns if profile else None,
                    (profile.cell_width, profile.cell_height) if profile else (12, 24))
    receipt = parse_receipt(doc, grid, fonts)
    pages = render_receipt(receipt, fonts)
    try:
        raw: bytes | None = printer.language.encode_receipt(
            receipt, model, lambda line: line_raster(line, receipt, fonts))
    except NotImplementedError:
        raw = None
    payload = {"blocks": len(doc.get("blocks") or []), "lines": len(receipt.lines),
               "route": "text" if raw is not None else "raster",
               "bytes": len(raw) if raw is not None else None,
               "sha256": hashlib.sha256(raw).hexdigest() if raw is not None else None}
    return Prepared("receipt", payload, pages, raw=raw)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise Invalid("invalid-document", "document.data is not valid base64.",
                      "Send the file's bytes base64-encoded.") from None
