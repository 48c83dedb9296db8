"""TSC TSPL / TSPL2: the language driver (raster labels, `<ESC>!?` status)."""

from labeld.contracts import Language
from labeld.hookspecs import hookimpl


@hookimpl
def labeld_languages() -> list[Language]:
    from labeld.drivers.tspl.language import TsplLanguage

    return [TsplLanguage()]
