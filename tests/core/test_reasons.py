"""The reasons catalogue: every code anything can emit has words in every language."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType

import pytest

import labeld
import labeld.drivers
import labeld.drivers.escpos.language as escpos_language
import labeld.drivers.tspl.language as tspl_language
import labeld.drivers.zpl.language as zpl_language
import labeld.plugins
from labeld import reasons
from labeld.contracts import Reason, Severity

DRIVER_MODULES: tuple[ModuleType, ...] = (zpl_language, escpos_language, tspl_language)


def _reasons_in(value: object, depth: int = 0) -> set[Reason]:
    """Reason objects held in module globals, also inside tuples, dicts and frozensets."""
    if isinstance(value, Reason):
        return {value}
    if depth > 3:
        return set()
    if isinstance(value, (tuple, list, set, frozenset)):
        return set().union(*(_reasons_in(v, depth + 1) for v in value))
    if isinstance(value, Mapping):
        return set().union(*(_reasons_in(v, depth + 1) for v in value.values()))
    return set()


def _table_reasons() -> set[Reason]:
    found: set[Reason] = set(reasons.CORE_REASONS)
    for module in DRIVER_MODULES:
        found |= set(module.ALL_REASONS)
        for value in vars(module).values():
            found |= _reasons_in(value)
    return found


def _source_files() -> list[Path]:
    roots = {Path(p) for pkg in (labeld, labeld.drivers, labeld.plugins) for p in pkg.__path__}
    return sorted({f for root in roots for f in root.rglob("*.py")})


def _literal_codes_in_source() -> dict[str, list[str]]:
    """Codes written as `Reason(keyword, "code", ...)` anywhere in the installed packages, so
    that a reason built inline (not in a table) is caught too."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Reason"):
                continue
            code = node.args[1] if len(node.args) > 1 else None
            code = code or next((k.value for k in node.keywords if k.arg == "code"), None)
            if isinstance(code, ast.Constant) and isinstance(code.value, str):
                found[code.value].append(f"{path.name}:{node.lineno}")
    return found


def test_tables_are_found() -> None:
    # Guard against the collection silently finding nothing.
    table_codes = {r.code for r in _table_reasons()}
    assert {"head-open", "paper-out", "cover-open", "no-status-reply"} <= table_codes
    assert "paper-out" in _literal_codes_in_source()


def test_every_emitted_code_has_both_languages() -> None:
    codes = {r.code for r in _table_reasons()} | set(_literal_codes_in_source())
    missing = sorted(code for code in codes if code not in reasons.codes())
    assert not missing, f"codes without words in labeld/locale/en/LC_MESSAGES/labeld.po: {missing}"
    for code in codes:
        entry = reasons.lookup(code)
        assert entry is not None
        for text in (entry.message, entry.hint):
            for lang in reasons.LANGUAGES:
                assert getattr(text, lang).strip(), (code, lang)
            assert text.hu != text.en, f"{code}: Hungarian text is not translated"


def test_catalogue_has_no_orphans() -> None:
    # A code nobody emits is a typo or a leftover; either way the words are never shown.
    emitted = {r.code for r in _table_reasons()} | set(_literal_codes_in_source())
    assert sorted(reasons.codes() - emitted) == []


def test_a_code_means_one_thing_everywhere() -> None:
    seen: dict[str, set[tuple[str, Severity]]] = defaultdict(set)
    for reason in _table_reasons():
        seen[reason.code].add((reason.keyword, reason.severity))
    conflicting = {code: v for code, v in seen.items() if len(v) > 1}
    assert not conflicting


def test_hungarian_uses_hungarian_letters() -> None:
    # õ/û (tilde, circumflex) are the usual stand-ins when ő/ű are typed on a wrong layout.
    for code in reasons.codes():
        entry = reasons.lookup(code)
        assert entry is not None
        for text in (entry.message.hu, entry.hint.hu):
            assert not set(text) & set("õûÕÛôÔêÊ"), code


def test_reference_wording() -> None:
    head_open = reasons.describe(Reason("cover-open", "head-open", Severity.ERROR))
    assert head_open == {
        "keyword": "cover-open",
        "code": "head-open",
        "severity": "error",
        "message": {"en": "Print head is open", "hu": "Nyitva van a nyomtatófej"},
        "hint": {
            "en": "Close the print head until it clicks.",
            "hu": "Csukja le a nyomtatófejet kattanásig.",
        },
    }


@pytest.mark.parametrize(("code", "part", "hungarian"), [
    # A native reader's corrections: the polite, natural shop wording, not a word-for-word one.
    ("cover-open", "hint", "Csukja le a fedelet kattanásig."),
    ("paused", "message", "A nyomtató szünetel"),
    ("label-waiting", "hint", "Vegye el a címkét; a következőt csak ezután nyomtatja ki."),
    ("paper-near-end", "hint",
     "Készítsen elő egy új tekercset, és rövidesen cseréljen tekercset."),
])
def test_corrected_wording(code: str, part: str, hungarian: str) -> None:
    assert reasons.describe(Reason("other", code, Severity.ERROR))[part]["hu"] == hungarian


def test_no_word_for_word_leftovers() -> None:
    # Phrases the review replaced; they must not creep back in through another message.
    stale = ("amíg kattan", "szüneteltetve", "nyomtatódik", "zárja le a fe")
    for code in reasons.codes():
        entry = reasons.lookup(code)
        assert entry is not None
        for text in (entry.message.hu, entry.hint.hu):
            assert not any(s in text.lower() for s in stale), (code, text)


def test_lookup() -> None:
    entry = reasons.lookup("paper-out")
    assert entry is not None and entry.message.en == "Out of paper or labels"
    assert reasons.lookup("made-up") is None


@pytest.mark.parametrize("severity", list(Severity))
def test_unknown_code_falls_back(severity: Severity) -> None:
    described = reasons.describe(Reason("other", "made-up-{code}", severity))
    assert described["code"] == "made-up-{code}"
    assert described["severity"] == severity.value
    for part in ("message", "hint"):
        assert set(described[part]) == {"en", "hu"}
        assert all(described[part].values())
    assert "made-up-{code}" in described["message"]["en"]


def test_malformed_severity_does_not_raise() -> None:
    described = reasons.describe(Reason("other", "x", "catastrophic"))  # type: ignore[arg-type]
    assert described["message"]["en"] == "The printer reports a problem (x)"  # the worst case


def test_core_reasons() -> None:
    unreachable = Reason("offline-report", "printer-unreachable", Severity.ERROR)
    assert unreachable == reasons.PRINTER_UNREACHABLE
    assert reasons.NO_STATUS_REPLY.severity is Severity.WARNING
    assert reasons.STATUS_TIMEOUT.code == "status-timeout"


# --- the words for the code a job ends with --------------------------------------------------

def _job_failure_codes() -> dict[str, list[str]]:
    """Codes a job can end with besides a printer's reasons: every `TransportError("code",
    ...)` anywhere (a link's failure ends the job in hand), the errors delivery's encoder
    raises, and the store's mark for a job cut by a crash."""
    import labeld.delivery.encode
    from labeld.store.jobs import INTERRUPTED

    found: dict[str, list[str]] = defaultdict(list, {INTERRUPTED: ["store/jobs.py"]})
    encoder = Path(labeld.delivery.encode.__file__)
    for path in _source_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            name = getattr(node.func, "id", None) if isinstance(node, ast.Call) else None
            if name == "TransportError" or (name == "LabeldError" and path == encoder):
                code = node.args[0] if node.args else None
                if isinstance(code, ast.Constant) and isinstance(code.value, str):
                    found[code.value].append(f"{path.name}:{node.lineno}")
    return found


def test_every_code_a_job_can_end_with_has_words_in_both_languages() -> None:
    codes = _job_failure_codes()
    assert {"connection-refused", "usb-permission", "no-pages", "interrupted"} <= set(codes)
    missing = sorted(code for code in codes if reasons.error_entry(code) is None)
    assert not missing, f"error.<code>.message/.hint missing in the English catalogue: {missing}"
    for code in codes:
        entry = reasons.error_entry(code)
        for text in (entry.message, entry.hint):
            assert text.hu.strip() and text.hu != text.en, (code, text)


def test_no_failure_words_for_codes_nothing_raises() -> None:
    english = reasons.i18n.CORE.translator("en").ids
    worded = {i.split(".")[1] for i in english if i.startswith("error.")}
    assert sorted(worded - set(_job_failure_codes())) == []


def test_a_job_error_is_worded_in_every_language_and_keeps_its_particulars() -> None:
    stored = {"code": "connection-refused", "hint": "labeld retries by itself.",
              "message": "Gave up after 4 attempt(s): 10.0.0.9:9100 refused the connection."}
    shown = reasons.error_json(stored)
    assert shown["message"] == stored["message"] and shown["code"] == "connection-refused"
    assert shown["message_i18n"] == {"en": "The printer refused the connection",
                                     "hu": "A nyomtató elutasította a kapcsolódást"}
    assert "Újrapróbálás" in shown["hint_i18n"]["hu"]
    # A printer's fault that held the job reads like the printer's own reason.
    held = reasons.error_json({"code": "paper-out", "message": "...", "hint": ""})
    assert held["message_i18n"]["hu"] == reasons.lookup("paper-out").message.hu
    # A plugin's code nobody worded: its English in every language, never an empty text.
    odd = reasons.error_json({"code": "acme-jam", "message": "Jammed.", "hint": "Open it."})
    assert odd["message_i18n"] == {"en": "Jammed.", "hu": "Jammed."}
    assert odd["hint_i18n"] == {"en": "Open it.", "hu": "Open it."}
    assert reasons.error_json(None) is None
