"""The words people read, in their language: gettext catalogues read with Babel.

Layout (the standard gettext one, so that Poedit, Weblate and `pybabel` work on it as is):

    labeld/locale/labeld.pot                    the template: every message id
    labeld/locale/<lang>/LC_MESSAGES/labeld.po  one catalogue per language

Message ids are stable keys (`reason.head-open.message`), not English sentences, and the
English catalogue holds the English wording ("monolingual" gettext). Keys, because the wording
of a reason is looked up by its code at run time (a plugin's decoder only says `acme-jam`), so
the code must be able to name the message without knowing its words; and because fixing an
English sentence must not orphan its Hungarian translation.

The .po files are the only copy: they are compiled to .mo in memory the first time a language
is asked for (about 15 ms for both languages, once per process; nothing at import time),
so there is no binary in git that can fall behind its source and no build step.

Babel is imported inside the functions that need it: `labeld.reasons` (and with it every
driver and the CLI) imports this module, and `import babel.support` alone costs ~17 ms, paid
only by a process that actually shows words.
"""

from __future__ import annotations

import io
import logging
import re
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, Literal, cast

if TYPE_CHECKING:
    from babel.messages.catalog import Catalog
    from babel.support import NullTranslations

log = logging.getLogger(__name__)

Lang = Literal["en", "hu"]
SUPPORTED: Final[tuple[Lang, ...]] = ("en", "hu")
# The source language: a message missing (or fuzzy) in a translation is shown in English, and
# someone asking for a language labeld does not speak gets English rather than the shop's.
FALLBACK: Final[Lang] = "en"
DOMAIN: Final = "labeld"
LOCALE_DIR: Final = Path(__file__).parent / "locale"


def catalogue_path(directory: Path, lang: str, suffix: str = ".po") -> Path:
    """Where the catalogue of `lang` lives under a locale directory (gettext's layout)."""
    return directory / lang / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


class _Values(dict[str, Any]):
    # A translation that names a placeholder the caller did not give (a plugin's typo) keeps
    # the placeholder visible instead of raising inside a status endpoint.
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Translator:
    """One language's words: that language's catalogue, falling back to English per message."""

    lang: Lang
    translations: NullTranslations = field(repr=False, compare=False)
    # Every id this translator can answer with a real text (its own or English's).
    ids: frozenset[str] = field(repr=False)

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.translations.ngettext(singular, plural, n)

    def format(self, message: str, /, **values: Any) -> str:
        """The message with its named placeholders (`{code}`) filled in."""
        return _fill(self.gettext(message), message, values)

    def nformat(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The plural form for `n`, filled in; `{n}` is available to the text."""
        return _fill(self.ngettext(singular, plural, n), singular, {"n": n, **values})

    def knows(self, message: str) -> bool:
        return message in self.ids


def _fill(text: str, message: str, values: Mapping[str, Any]) -> str:
    try:
        return text.format_map(_Values(values))
    except (ValueError, IndexError, AttributeError, TypeError):
        # A stray brace or a positional `{0}` in some catalogue: the words, unfilled, are still
        # better than a 500. The core catalogues are tested against this.
        log.warning("message %r has a malformed placeholder: %r", message, text)
        return text


def placeholders(text: str) -> frozenset[str]:
    """The placeholder names in a text (`{code}` -> "code"); positional ones come back as ""
    or digits, which the catalogue tests reject."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(text) if name is not None)


@dataclass(frozen=True)
class Catalogues:
    """Where the words come from: labeld's own catalogues plus any a plugin brings.

    `base` always wins: an extra directory adds messages for its own ids and cannot reword
    labeld's (support reads the same sentence the shop does). Between extra directories the
    first one listed wins. A broken extra catalogue is logged and left out, never fatal.
    """

    base: Path = LOCALE_DIR
    extra: tuple[Path, ...] = ()

    def with_dirs(self, dirs: Iterable[Path | str]) -> Catalogues:
        """These catalogues plus more locale directories (each laid out like labeld/locale)."""
        added = tuple(Path(d) for d in dirs)
        merged = tuple(dict.fromkeys((*self.extra, *added)))  # keep order, drop repeats
        return Catalogues(self.base, tuple(d for d in merged if d != self.base))

    def translator(self, lang: str) -> Translator:
        """The translator for `lang`; English for a language labeld does not have."""
        return _load(self, _supported(lang) or FALLBACK)


CORE: Final = Catalogues()


def translator(lang: str, catalogues: Catalogues = CORE) -> Translator:
    return catalogues.translator(lang)


# The only process-wide state: loaded catalogues, keyed by the immutable Catalogues and a
# language. Fine to share because the value is a pure function of the key (package data and
# plugin files do not change under a running daemon; a changed file needs a restart, like
# changed code), is never mutated once built, and two threads racing on a miss build equal
# values. Bounded, because tests build many Catalogues with temporary plugin directories.
@lru_cache(maxsize=32)
def _load(catalogues: Catalogues, lang: Lang) -> Translator:
    from babel.messages.mofile import write_mo
    from babel.support import Translations

    catalog = _read_merged(catalogues, lang)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    translations = Translations(mo, domain=DOMAIN)
    ids = frozenset(_ids(catalog))
    if lang != FALLBACK:
        english = _load(catalogues, FALLBACK)
        translations.add_fallback(english.translations)
        ids |= english.ids
    return Translator(lang, translations, ids)


def _ids(catalog: Catalog) -> Iterator[str]:
    for message in catalog:
        if message.id:
            yield message.id if isinstance(message.id, str) else message.id[0]


def _read_merged(catalogues: Catalogues, lang: Lang) -> Catalog:
    from babel.messages.catalog import Catalog

    merged = read_catalogue(catalogues.base, lang) or Catalog(locale=lang, domain=DOMAIN)
    _drop_incomplete(merged)
    for directory in catalogues.extra:
        try:
            extra = read_catalogue(directory, lang)
        except Exception:  # a plugin's broken file must not take everyone's words away
            log.exception("skipping the %s catalogue in %s", lang, directory)
            continue
        if extra is None:
            continue
        for message in extra:
            if not message.id or not _complete(message):
                continue
            if merged.get(message.id, message.context) is not None:
                log.warning("%s: %r is already defined; the first definition is kept",
                            catalogue_path(directory, lang), message.id)
                continue
            merged[message.id] = message
    return merged


def _complete(message: Any) -> bool:
    # write_mo would fill an empty plural form with the msgid, which here is a key nobody
    # should read: an incomplete or fuzzy message is left out so English answers instead.
    if message.fuzzy:
        return False
    if isinstance(message.string, tuple):
        return all(message.string)
    return bool(message.string)


def _drop_incomplete(catalog: Catalog) -> None:
    for message in list(catalog):
        if message.id and not _complete(message):
            catalog.delete(message.id, message.context)


def read_catalogue(directory: Path, lang: str) -> Catalog | None:
    """The `lang` catalogue under a locale directory: its .po, else a compiled .mo (what a
    plugin built with `pybabel compile` ships), else None. Raises on a malformed file."""
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    po = catalogue_path(directory, lang)
    if po.is_file():
        with po.open("rb") as f:
            return read_po(f, locale=lang, domain=DOMAIN, ignore_obsolete=True,
                           abort_invalid=True)
    mo = catalogue_path(directory, lang, ".mo")
    if mo.is_file():
        with mo.open("rb") as f:
            return read_mo(f)
    return None


# --- choosing a language --------------------------------------------------------------------

# One item of Accept-Language: a tag (or `*`) and an optional weight, `hu-HU;q=0.9`.
_ACCEPT_ITEM = re.compile(
    r"^\s*([A-Za-z]{1,8}(?:[-_][A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([0-9.]+)\s*)?$")


def parse_accept_language(header: str) -> list[str]:
    """Language tags from an Accept-Language header, most wanted first; `q=0` (not
    acceptable) and malformed items are dropped, ties keep the header's order."""
    weighted: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        match = _ACCEPT_ITEM.match(item)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if 0 < quality <= 1:
            weighted.append((-quality, position, match.group(1)))
    return [tag for _, _, tag in sorted(weighted)]


def _supported(tag: str | None) -> Lang | None:
    if not tag:
        return None
    from babel.core import negotiate_locale

    # Babel matches case-insensitively and strips a region (`hu-HU` -> `hu`).
    found = negotiate_locale([tag.replace("_", "-")], SUPPORTED, sep="-")
    return next((lang for lang in SUPPORTED if found and found.lower() == lang), None)


def negotiate(accept_language: str | None = None, query_lang: str | None = None,
              configured_default: str | None = None) -> Lang:
    """The language to answer in.

    `?lang=` comes first, then the Accept-Language header in its order of preference. When
    someone asked but labeld speaks none of what they asked for (`de`), the answer is English,
    the fallback a visitor is likelier to read than the shop's language; only when nobody asks
    (no query, no header, or `*`) does the configured default apply.
    """
    default = _supported(configured_default) or FALLBACK
    wanted = [query_lang] if query_lang else []
    wanted += parse_accept_language(accept_language) if accept_language else []
    if not wanted:
        return default
    for tag in wanted:
        lang = default if tag == "*" else _supported(tag)
        if lang is not None:
            return lang
    return FALLBACK


# --- the template ---------------------------------------------------------------------------


def extract_english_catalogue(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                              options: Mapping[str, Any]) -> Iterator[tuple[int, str | None,
                                                                            Any, list[str]]]:
    """A `pybabel extract` method (see labeld/locale/babel.cfg): the ids of the English
    catalogue, each with its English wording as the translator's note, so `labeld.pot` is
    made by the standard command and Hungarian translators see the English beside each key."""
    from babel.messages.pofile import read_po

    for message in read_po(fileobj, ignore_obsolete=True):
        if not message.id:
            continue
        if isinstance(message.id, str):
            yield message.lineno or 0, None, message.id, [cast(str, message.string)]
        else:
            english = " / ".join(cast(tuple[str, ...], message.string))
            yield message.lineno or 0, "ngettext", tuple(message.id), [english]


# --- words said later: a sentence that knows how to say itself in any language ---------------

class Words(str):
    """Text a person reads, made before anyone knows in which language it will be read (a
    self-test check's detail, a log line). The `str` itself is the English, so whatever reads
    it as a plain string still works; `say(tr)` is the text in `tr`'s language. Subclasses say
    how; this base reads the same in every language.

    Write a sentence as `N_("labels measure {length} mm", length=...)`: its English is the
    gettext id (`pybabel extract` finds it), its values are named and may be Words themselves."""

    def say(self, tr: Translator) -> str:
        return str(self)


def say(text: str, tr: Translator) -> str:
    """`text` in `tr`'s language: Words are worded, a plain str is the same in every language."""
    return text.say(tr) if isinstance(text, Words) else str(text)


def _english(template: str, values: Mapping[str, Any]) -> str:
    # The English without loading a catalogue (a plugin names its checks at load time): the
    # id is its own English. Like Translator.format, a bad placeholder never raises.
    try:
        return template.format_map(_Values(values))
    except (ValueError, IndexError, AttributeError, TypeError):
        return template


class Message(Words):
    """A sentence from the gettext catalogues: its English id (and plural id and count),
    with named values that may be Words themselves. Made by `N_` and `Message.ngettext`."""

    msgid: str
    plural: str | None
    n: int
    values: dict[str, Any]

    def __new__(cls, msgid: str, values: Mapping[str, Any] | None = None,
                plural: str | None = None, n: int = 1) -> Message:
        values = dict(values or {})
        english = msgid if plural is None or n == 1 else plural
        self = super().__new__(cls, _english(english, {"n": n, **values}))
        self.msgid, self.plural, self.n, self.values = msgid, plural, n, values
        return self

    @classmethod
    def ngettext(cls, singular: str, plural: str, n: int, /, **values: Any) -> Message:
        """A sentence with a count: `{n}` is the count, the form is the language's for `n`."""
        return cls(singular, values, plural, n)

    def say(self, tr: Translator) -> str:
        values = {k: say(v, tr) if isinstance(v, str) else v for k, v in self.values.items()}
        if self.plural is None:
            return tr.format(self.msgid, **values)
        return tr.nformat(self.msgid, self.plural, self.n, **values)

    def __reduce__(self) -> tuple[Any, ...]:  # copy, deepcopy (dataclasses.asdict) and pickle
        return (Message, (self.msgid, self.values, self.plural, self.n))


def N_(msgid: str, /, **values: Any) -> Message:
    """A sentence to word later in the reader's language; English until then."""
    return Message(msgid, values)


class Said(Words):
    """Text already worded in every language (a reason's words from `describe`); English as the
    str, and English for a language it lacks."""

    texts: dict[str, str]

    def __new__(cls, texts: Mapping[str, str]) -> Said:
        self = super().__new__(cls, texts.get(FALLBACK, ""))
        self.texts = dict(texts)
        return self

    def say(self, tr: Translator) -> str:
        return self.texts.get(tr.lang) or str(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Said, (self.texts,))


class Joined(Words):
    """Words joined by a separator ("5 settings read, no configuration dump")."""

    parts: tuple[str, ...]
    separator: str

    def __new__(cls, parts: Iterable[str], separator: str = ", ") -> Joined:
        parts = tuple(parts)
        self = super().__new__(cls, separator.join(parts))
        self.parts, self.separator = parts, separator
        return self

    def say(self, tr: Translator) -> str:
        return self.separator.join(say(p, tr) for p in self.parts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Joined, (self.parts, self.separator))


class Number(Words):
    """A measurement with the language's decimal mark (155.8 mm, 155,8 mm): `digits` after
    the point, or as short as it goes (`:g`) without."""

    value: float
    digits: int | None

    def __new__(cls, value: float, digits: int | None = None) -> Number:
        text = f"{value:g}" if digits is None else f"{value:.{digits}f}"
        self = super().__new__(cls, text)
        self.value, self.digits = value, digits
        return self

    def say(self, tr: Translator) -> str:
        from babel.numbers import get_decimal_symbol

        return str(self).replace(".", get_decimal_symbol(tr.lang))

    def __reduce__(self) -> tuple[Any, ...]:
        return (Number, (self.value, self.digits))


def words(text: str, catalogues: Catalogues = CORE) -> dict[str, str]:
    """`text` in every language labeld speaks, like a reason's `message`: {"en": ..., "hu": ...}."""
    return {lang: say(text, catalogues.translator(lang)) for lang in SUPPORTED}


def message_ids(text: str) -> list[str]:
    """The gettext ids a text is made of (for tests and tools): a Message's id and those of
    its values, a Joined's parts'; none for a plain str or already-worded text."""
    if isinstance(text, Message):
        return [text.msgid, *(i for v in text.values.values() if isinstance(v, str)
                              for i in message_ids(v))]
    if isinstance(text, Joined):
        return [i for p in text.parts for i in message_ids(p)]
    return []
