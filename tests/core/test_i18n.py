"""gettext catalogues: complete, well-formed, negotiated, extensible by plugins."""

from __future__ import annotations

import io
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from labeld import i18n
from labeld.contracts import Reason, Severity
from labeld import reasons

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = Path(__file__).parent / "fixtures" / "locale_plugin"
POT = i18n.LOCALE_DIR / f"{i18n.DOMAIN}.pot"


def _read(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=lang, abort_invalid=True)  # raises on any syntax error


def _messages(catalog: Catalog) -> dict[str, Message]:
    return {m.id if isinstance(m.id, str) else m.id[0]: m for m in catalog if m.id}


def _ids_to_translate(locale_dir: Path) -> list[str]:
    """Every id a translation must cover: the template's (keyed ids and sentences written in
    code as _("...")) and, should the template lag behind, the English catalogue's."""
    ids = list(_messages(_read(locale_dir / f"{i18n.DOMAIN}.pot")))
    english = _messages(_read(i18n.catalogue_path(locale_dir, "en"), "en"))
    return ids + [msgid for msgid in english if msgid not in ids]


def untranslated(locale_dir: Path, lang: str) -> list[str]:
    """Ids that `lang` does not translate: missing, empty (any plural form) or fuzzy (gettext
    does not use fuzzy entries)."""
    target = _messages(_read(i18n.catalogue_path(locale_dir, lang), lang))
    return [msgid for msgid in _ids_to_translate(locale_dir) if not _translated(target.get(msgid))]


def _translated(message: Message | None) -> bool:
    return message is not None and not message.fuzzy and all(t.strip() for t in _texts(message))


def _texts(message: Message) -> tuple[str, ...]:
    string = message.string
    return (string,) if isinstance(string, str) else tuple(string or ())


def _english(msgid: str, english: dict[str, Message],
             template: dict[str, Message]) -> tuple[str, ...]:
    """What a translation of `msgid` translates: the English catalogue's text for a keyed id,
    the id itself (and its plural) for a sentence written in code."""
    if msgid in english:
        return _texts(english[msgid])
    source = template[msgid].id
    return (source,) if isinstance(source, str) else tuple(source)


# --- the catalogues themselves ---------------------------------------------------------------


@pytest.mark.parametrize("lang", i18n.SUPPORTED)
def test_catalogues_parse_without_fuzzy_entries(lang: str) -> None:
    catalog = _read(i18n.catalogue_path(i18n.LOCALE_DIR, lang), lang)
    assert str(catalog.locale) == lang
    assert not catalog.fuzzy  # the header
    assert [m.id for m in catalog if m.id and m.fuzzy] == []
    assert catalog.obsolete == {}
    assert len(catalog) > 90


def test_every_english_message_has_a_hungarian_translation() -> None:
    assert untranslated(i18n.LOCALE_DIR, "hu") == [], "translate these in hu/LC_MESSAGES/labeld.po"


def test_the_translation_check_catches_a_gap(tmp_path: Path) -> None:
    # The real catalogues with one Hungarian entry blanked, one marked fuzzy, one removed.
    locale = tmp_path / "locale"
    shutil.copytree(i18n.LOCALE_DIR, locale, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    path = i18n.catalogue_path(locale, "hu")
    catalog = _read(path, "hu")
    catalog["reason.paper-out.message"].string = ""
    catalog["reason.head-open.hint"].flags.add("fuzzy")
    catalog.delete("reason.paused.message")
    with path.open("wb") as f:
        write_po(f, catalog)
    assert untranslated(locale, "hu") == [
        "reason.paper-out.message", "reason.head-open.hint", "reason.paused.message"]


def test_the_hungarian_catalogue_has_no_leftovers() -> None:
    # Ids that are gone from the template (a deleted message) are gone from the translation.
    hungarian = set(_messages(_read(i18n.catalogue_path(i18n.LOCALE_DIR, "hu"), "hu")))
    assert sorted(hungarian - set(_ids_to_translate(i18n.LOCALE_DIR))) == []


def test_placeholders_are_named_and_the_same_in_every_language() -> None:
    english = _messages(_read(i18n.catalogue_path(i18n.LOCALE_DIR, "en"), "en"))
    template = _messages(_read(POT))
    hungarian = _messages(_read(i18n.catalogue_path(i18n.LOCALE_DIR, "hu"), "hu"))
    with_placeholders = 0
    for msgid in _ids_to_translate(i18n.LOCALE_DIR):
        texts = _english(msgid, english, template)
        if msgid in hungarian:
            texts += tuple(t for t in _texts(hungarian[msgid]) if t)
        names = {i18n.placeholders(text) for text in texts}
        assert len(names) == 1, f"{msgid}: placeholders differ between languages: {names}"
        (found,) = names
        assert all(name.isidentifier() for name in found), f"{msgid}: positional placeholder"
        with_placeholders += bool(found)
    assert with_placeholders >= 3  # the unknown-code fallbacks take {code}


def test_placeholders_sees_positional_ones() -> None:
    assert i18n.placeholders("a {code} b {} c {0}") == {"code", "", "0"}
    assert i18n.placeholders("no braces {{here}}") == frozenset()


def test_the_template_is_up_to_date(tmp_path: Path) -> None:
    # What `pybabel extract` (README, "Translations") makes now must be what is committed.
    out = tmp_path / "labeld.pot"
    CommandLineInterface().run([  # type: ignore[no-untyped-call]
        "pybabel", "-q", "extract", "-F", str(i18n.LOCALE_DIR / "babel.cfg"),
        "--add-location=file", "-o", str(out),
        str(ROOT / "labeld"), str(ROOT / "drivers"), str(ROOT / "plugins")])

    def entries(catalog: Catalog) -> list[tuple[object, list[str]]]:
        return [(m.id, m.auto_comments) for m in catalog if m.id]

    fresh, committed = _read(out), _read(POT)
    assert entries(committed) == entries(fresh), "run the pybabel extract of README.md"
    english = _messages(_read(i18n.catalogue_path(i18n.LOCALE_DIR, "en"), "en"))
    assert set(_messages(committed)) >= set(english)


def test_importing_reasons_does_not_import_babel() -> None:
    # Babel costs ~20 ms to import; drivers and the CLI import the reasons module for its
    # constants and should not pay it before a word is shown.
    code = "import sys, labeld.reasons; assert 'babel' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- translators ------------------------------------------------------------------------------


def test_translators() -> None:
    paper_out = "reason.paper-out.message"
    assert i18n.translator("hu").gettext(paper_out) == "Kifogyott a papír vagy a címke"
    assert i18n.translator("en").gettext(paper_out) == "Out of paper or labels"
    assert i18n.translator("hu") is i18n.translator("hu")  # loaded once
    # A language labeld does not have gets English, not an error.
    assert i18n.translator("de").lang == "en"
    assert i18n.translator("hu").format("unknown-reason.report.message", code="x{y}") == \
        "A nyomtató üzenete: x{y}"


def test_format_never_raises() -> None:
    hu = i18n.translator("hu")
    # a placeholder the caller did not give stays visible
    assert hu.format("unknown-reason.report.message") == "A nyomtató üzenete: {code}"
    # an id nobody has comes back as itself, as gettext does
    assert hu.format("no.such.id") == "no.such.id"


def _catalogue(directory: Path, lang: str, entries: dict[str, str | tuple[str, str]],
               fuzzy: tuple[str, ...] = ()) -> None:
    catalog = Catalog(locale=lang, domain=i18n.DOMAIN, fuzzy=False)
    for msgid, text in entries.items():
        if isinstance(text, tuple):
            catalog.add((msgid, msgid + ".plural"), text)
        else:
            catalog.add(msgid, text, flags=("fuzzy",) if msgid in fuzzy else ())
    path = i18n.catalogue_path(directory, lang)
    path.parent.mkdir(parents=True)
    with path.open("wb") as f:
        write_po(f, catalog)


def test_a_missing_translation_falls_back_to_english(tmp_path: Path) -> None:
    _catalogue(tmp_path, "en",
               {"a": "Apple", "b": "Bread", "c": "Cheese", "n": ("{n} egg", "{n} eggs")})
    _catalogue(tmp_path, "hu", {"a": "Alma", "b": "", "c": "Sajt", "n": ("{n} tojás", "")},
               fuzzy=("c",))
    hu = i18n.Catalogues(tmp_path).translator("hu")
    assert hu.gettext("a") == "Alma"
    assert hu.gettext("b") == "Bread"  # empty
    assert hu.gettext("c") == "Cheese"  # fuzzy: a guess nobody checked is not shown
    assert hu.nformat("n", "n.plural", 2) == "2 eggs"  # a plural form missing
    assert hu.knows("b") and not hu.knows("z")


# --- negotiation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "query", "default", "expected"), [
    ("hu-HU,hu;q=0.9,en;q=0.8", None, "en", "hu"),
    ("de", None, "hu", "en"),  # asked, but not for anything labeld has: English
    ("de-DE,de;q=0.9,hu;q=0.5", None, "en", "hu"),
    ("en;q=0.5,hu;q=0.8", None, "en", "hu"),  # by quality, not by position
    ("hu;q=0,en", None, "hu", "en"),  # q=0: not acceptable
    ("HU", None, "en", "hu"),
    ("hu-HU,hu;q=0.9", "en", "hu", "en"),  # ?lang= beats the header
    ("en", "hu_HU", "en", "hu"),
    ("hu", "de", "en", "hu"),  # an unsupported ?lang= leaves the header to decide
    (None, "de", "hu", "en"),
    (None, None, "hu", "hu"),  # nobody asks: the configured default
    ("", "", "hu", "hu"),
    ("*", None, "hu", "hu"),  # "anything": the configured default
    ("de, *;q=0.1", None, "hu", "hu"),
    ("garbage;;q=x", None, "hu", "hu"),  # nothing readable asks for nothing
    (None, None, "fr", "en"),  # a default labeld cannot serve
    (None, None, None, "en"),
])
def test_negotiate(header: str | None, query: str | None, default: str | None,
                   expected: str) -> None:
    assert i18n.negotiate(header, query, default) == expected


def test_parse_accept_language() -> None:
    assert i18n.parse_accept_language("da, en-GB;q=0.8, en;q=0.7, x;q=2, y;q=0") == \
        ["da", "en-GB", "en"]


# --- plugin catalogues ------------------------------------------------------------------------


def test_a_plugin_brings_its_own_reasons() -> None:
    merged = i18n.CORE.with_dirs([PLUGIN])
    hopper = Reason("other", "acme-hopper-empty", Severity.ERROR)
    assert reasons.describe(hopper, merged)["message"] == {
        "en": "The label hopper is empty", "hu": "Kiürült a címketár"}
    assert reasons.describe(hopper, merged)["hint"]["hu"] == "Töltse fel a címketárat."
    assert "acme-hopper-empty" in reasons.codes(merged)
    assert "acme-hopper-empty" not in reasons.codes()  # labeld's own are untouched
    unknown_here = reasons.describe(hopper)["message"]["en"]
    assert unknown_here == "The printer reports a problem (acme-hopper-empty)"
    # labeld's own words still there, and a plugin cannot reword them
    no_reply = reasons.NO_STATUS_REPLY
    assert reasons.describe(no_reply, merged) == reasons.describe(no_reply)
    paper_out = merged.translator("hu").gettext("reason.paper-out.message")
    assert paper_out == "Kifogyott a papír vagy a címke"


def test_a_plugin_catalogue_falls_back_too() -> None:
    merged = i18n.CORE.with_dirs([PLUGIN])
    dusty = reasons.describe(Reason("other", "acme-dusty", Severity.WARNING), merged)
    assert dusty["message"] == {"en": "The sensor is dusty", "hu": "The sensor is dusty"}
    ajar = reasons.describe(Reason("other", "acme-lid-ajar", Severity.WARNING), merged)
    assert ajar["message"]["hu"] == "A fedél nincs teljesen lecsukva (acme-lid-ajar)"
    assert ajar["hint"] == reasons.describe(Reason("other", "?", Severity.WARNING))["hint"]
    hu = merged.translator("hu")
    assert hu.nformat("acme.labels-waiting", "acme.labels-waiting.plural", 3) == "3 címke vár"
    en = merged.translator("en")
    assert en.nformat("acme.labels-waiting", "acme.labels-waiting.plural", 1) == \
        "1 label is waiting"


def test_with_dirs_is_a_new_value() -> None:
    merged = i18n.CORE.with_dirs([PLUGIN, str(PLUGIN), i18n.LOCALE_DIR])
    assert merged.extra == (PLUGIN,)  # repeats and the base itself dropped
    assert i18n.CORE.extra == ()
    assert merged.with_dirs([PLUGIN]) == merged


def test_a_compiled_plugin_catalogue_is_read(tmp_path: Path) -> None:
    for lang in i18n.SUPPORTED:
        mo = i18n.catalogue_path(tmp_path, lang, ".mo")
        mo.parent.mkdir(parents=True)
        buffer = io.BytesIO()
        write_mo(buffer, _read(i18n.catalogue_path(PLUGIN, lang), lang))
        mo.write_bytes(buffer.getvalue())
    merged = i18n.CORE.with_dirs([tmp_path])
    hopper = merged.translator("hu").gettext("reason.acme-hopper-empty.message")
    assert hopper == "Kiürült a címketár"


def test_a_broken_plugin_catalogue_is_skipped(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    broken = i18n.catalogue_path(tmp_path, "hu")
    broken.parent.mkdir(parents=True)
    broken.write_text('msgid "x"\nthis is not a catalogue\n', encoding="utf-8")
    with caplog.at_level(logging.ERROR, logger="labeld.i18n"):
        merged = i18n.CORE.with_dirs([tmp_path, PLUGIN])
        hu = merged.translator("hu")
    assert hu.gettext("reason.paper-out.message") == "Kifogyott a papír vagy a címke"
    assert hu.gettext("reason.acme-hopper-empty.message") == "Kiürült a címketár"
    assert str(tmp_path) in caplog.text
