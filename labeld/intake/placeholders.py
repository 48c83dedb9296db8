"""Templates: label documents whose strings hold `{{ field }}` placeholders, filled from job data.

This is substitution and nothing more. There are no expressions, filters, loops or attribute
access, so a template (which an operator may upload) cannot run code or read anything but the
job's own data, and a data value (which a POS sends) is never itself scanned for placeholders.

Rules, in the order a template author meets them:

* A placeholder is `{{ name }}`, spaces inside the braces optional, with a name of the form
  `[A-Za-z_][A-Za-z0-9_.-]*`. Any other `{{` or `}}` in a template string is an error
  (`invalid-template`): `{{ price | upper }}` is a typo to report, not text to print.
* A string that is exactly one placeholder (`"{{ qty }}"`) is replaced by the value itself, so
  it may stand for a number, a boolean, a list or an object (`"x_mm": "{{ x }}"`).
* Inside longer strings the value is inserted with `str()`; `null` inserts nothing, since
  "None" printed on a price tag is never what the sender meant.
* A name is looked up as a key of the data first; failing that, a dotted name walks nested
  objects (`product.name` -> data["product"]["name"]). Only object keys are followed.
* Every missing field is reported in one `missing-field` error; extra data fields are ignored.
* Only values are templated: object keys are taken literally and may not hold placeholders.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from labeld.errors import Invalid
from labeld.intake.render.label import json_type

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_.-]*"
PLACEHOLDER = re.compile(r"\{\{\s*(" + NAME_PATTERN + r")\s*\}\}")
# The braces that open or close anything: each must belong to a well-formed placeholder.
_BRACES = re.compile(r"\{\{|\}\}")

MAX_DEPTH = 32  # a label document is 3 levels deep; this only stops runaway recursion
MAX_FILLED_CHARS = 1_000_000  # one value repeated in many strings must not build gigabytes


def fields(template: Any) -> set[str]:
    """The names of every placeholder in the template. Raises Invalid (`invalid-template`) if a
    string holds a malformed placeholder."""
    names: set[str] = set()
    for path, text in _strings(template):
        names.update(_placeholders(text, path))
    return names


def validate_template(doc: Any) -> None:
    """Check that `doc` can be a stored template: a JSON object shaped like a label document
    (width_mm, height_mm, elements as objects with a type) with well-formed placeholders only.

    Values a placeholder stands for are checked when the template is filled and the label is
    parsed; this catches what can be caught without data. Raises Invalid `invalid-template`."""
    if not isinstance(doc, Mapping):
        raise _bad("template", f"must be a JSON object (a label document), got {json_type(doc)}")
    _check_json(doc, "", 0)
    for key in ("width_mm", "height_mm"):
        if doc.get(key) is None:
            raise _bad(key, "is required (a number, or a placeholder that stands for one)")
    elements = doc.get("elements")
    if isinstance(elements, list):
        for i, el in enumerate(elements):
            if isinstance(el, str) and _whole(el):
                continue  # an element supplied by the data
            if not isinstance(el, Mapping):
                raise _bad(f"elements[{i}]", f"must be an object, got {json_type(el)}")
            if el.get("type") is None:
                raise _bad(f"elements[{i}].type", "is required")
    elif elements is not None and not (isinstance(elements, str) and _whole(elements)):
        raise _bad("elements", f"must be an array, got {json_type(elements)}")
    fields(doc)  # placeholder syntax everywhere


def fill(template: Any, data: Any) -> Any:
    """A new document with every placeholder replaced by its value from `data`.

    Neither argument is modified. Raises Invalid: `missing-field` naming every field the data
    lacks, `invalid-template` for a malformed placeholder, `invalid-data` if data is not an
    object or the result would be unreasonably large."""
    if not isinstance(data, Mapping):
        raise Invalid("invalid-data", f"data must be a JSON object, got {json_type(data)}",
                      'send "data": {"field": value, ...}')
    # Look every field up first, so one error can name all the missing ones.
    values: dict[str, Any] = {}
    missing: set[str] = set()
    for name in fields(template):
        found, value = _lookup(data, name)
        if found:
            values[name] = value
        else:
            missing.add(name)
    if missing:
        names = sorted(missing)
        listed = ", ".join(names)
        raise Invalid("missing-field",
                      f"the data lacks field{'s' if len(names) > 1 else ''}: {listed}",
                      f"add {listed} to data")
    budget = [MAX_FILLED_CHARS]
    return _fill(template, values, budget, 0)


# --------------------------------------------------------------------------------------------


def _fill(node: Any, values: Mapping[str, Any], budget: list[int], depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise _bad("template", f"is nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, str):
        whole = _whole(node)
        if whole is not None:
            # the value itself, copied so that the filled document never aliases the job data
            return copy.deepcopy(values[whole])

        def insert(m: re.Match[str]) -> str:
            text = _as_text(values[m.group(1)])
            budget[0] -= len(text)
            if budget[0] < 0:
                raise Invalid("invalid-data", "the filled template would be over "
                              f"{MAX_FILLED_CHARS:,} characters",
                              "send shorter values; labels hold short text")
            return text

        # one pass: text inserted from data is never scanned again for placeholders
        return PLACEHOLDER.sub(insert, node)
    if isinstance(node, Mapping):
        return {k: _fill(v, values, budget, depth + 1) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return [_fill(v, values, budget, depth + 1) for v in node]
    return node  # numbers, booleans, null


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _whole(text: str) -> str | None:
    """The field name if `text` is exactly one placeholder, else None."""
    m = PLACEHOLDER.fullmatch(text)
    return m.group(1) if m else None


def _lookup(data: Mapping[str, Any], name: str) -> tuple[bool, Any]:
    if name in data:
        return True, data[name]
    # Dotted names walk nested objects by key only: never getattr, never an index, so nothing
    # but the data the client sent can be reached.
    node: Any = data
    for part in name.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _placeholders(text: str, path: str) -> Iterator[str]:
    """The names in one template string; Invalid for braces that are not a placeholder."""
    if "{{" not in text and "}}" not in text:
        return
    pos = 0
    for brace in _BRACES.finditer(text):
        if brace.start() < pos:
            continue  # the closing braces of the placeholder just read
        m = PLACEHOLDER.match(text, brace.start()) if brace.group() == "{{" else None
        if m is None:
            snippet = text[brace.start():brace.start() + 40]
            raise _bad(path, f"{snippet!r} is not a placeholder: write {{{{ name }}}} with a "
                       "name of letters, digits, _ . - (no expressions or filters)")
        pos = m.end()
        yield m.group(1)


def _strings(node: Any, path: str = "", depth: int = 0) -> Iterator[tuple[str, str]]:
    """Every string value in the template with its JSON path (`elements[2].text`)."""
    if depth > MAX_DEPTH:
        raise _bad(path or "template", f"is nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, str):
        yield path or "template", node
    elif isinstance(node, Mapping):
        for k, v in node.items():
            yield from _strings(v, f"{path}.{k}" if path else str(k), depth + 1)
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            yield from _strings(v, f"{path}[{i}]", depth + 1)


def _check_json(node: Any, path: str, depth: int) -> None:
    """Only what JSON can hold, with string keys free of placeholders."""
    where = path or "template"
    if depth > MAX_DEPTH:
        raise _bad(where, f"is nested deeper than {MAX_DEPTH} levels")
    if isinstance(node, Mapping):
        for k, v in node.items():
            if not isinstance(k, str):
                raise _bad(where, f"has a key that is not a string: {k!r}"[:200])
            if "{{" in k or "}}" in k:
                raise _bad(where, f"key {k!r} holds a placeholder; only values can"[:300])
            _check_json(v, f"{path}.{k}" if path else k, depth + 1)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _check_json(v, f"{path}[{i}]", depth + 1)
    elif isinstance(node, float):
        if not math.isfinite(node):
            raise _bad(where, "must be a finite number")
    elif isinstance(node, str):
        try:
            node.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad(where, "is not valid Unicode (it holds a lone surrogate)") from None
    elif not (node is None or isinstance(node, (bool, int))):
        raise _bad(where, f"is not a JSON value ({type(node).__name__})")


def _bad(path: str, problem: str) -> Invalid:
    # repr-like escaping: a path may hold a lone surrogate, which no UTF-8 response takes
    message = f"{path}: {problem}".encode("utf-8", "backslashreplace").decode("utf-8")
    return Invalid("invalid-template", message[:500],
                   "placeholders are {{ name }} in string values; see the template docs")
