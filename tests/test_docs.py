"""The README is the user's door: every hook, CLI command and API route must be in it."""

import re
from pathlib import Path

import pytest

from labeld import hookspecs
from labeld.cli import build_parser

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("hook", [n for n in dir(hookspecs) if n.startswith("labeld_")])
def test_every_hook_is_documented(hook):
    assert f"`{hook}`" in README
    assert getattr(hookspecs, hook).__doc__, f"{hook} has no docstring"


def test_every_cli_command_is_documented():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"`labeld {name}" in README, name


def test_every_api_route_is_documented(daemon):
    spec = daemon([]).get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method in methods:
            # Path parameters may have friendlier names in prose: {printer_id} is {id} there.
            pattern = re.escape(method.upper()) + " " + re.sub(r"\\\{[^}]*\\\}", "{[^}]+}",
                                                               re.escape(path)) + "[`?]"
            documented = re.search(pattern, README) or (
                path.endswith(("/pause", "/resume")) and "/pause`, `/resume`" in README)
            assert documented, f"{method.upper()} {path} is not in the README"
