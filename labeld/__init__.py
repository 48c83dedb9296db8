"""labeld: a local print-and-diagnostics daemon for label and receipt printers."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("labeld")
except PackageNotFoundError:  # running from a checkout without an install
    __version__ = "0+unknown"
