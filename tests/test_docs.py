"""The README is the user's door: every hook, CLI command and API route must be in it."""

import inspect
import re
from pathlib import Path

import pytest

from labeld import hookspecs
from labeld.cli import build_parser

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
HOOKS = sorted(n for n, f in vars(hookspecs).items()
               if n.startswith("labeld_") and hasattr(f, f"{hookspecs.PROJECT}_spec"))


def parameters(hook: str) -> list[str]:
    return list(inspect.signature(getattr(hookspecs, hook)).parameters)


def plugins_section() -> str:
    """The README's "## Plugins" section, up to the next second-level heading."""
    match = re.search(r"^## Plugins\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, "README.md has no '## Plugins' section"
    return match.group(1)


def test_hooks_are_found():
    assert "labeld_discover" in HOOKS and len(HOOKS) >= 7, HOOKS


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_docstring_documents_its_parameters(hook):
    """Each hook's docstring has a `:param name:` line for exactly the parameters of its
    signature (none left out, none that is not there) and a `:return:` line."""
    doc = inspect.getdoc(getattr(hookspecs, hook))
    assert doc, f"{hook} has no docstring"
    documented = re.findall(r"^:param (\w+):", doc, re.M)
    assert documented == parameters(hook), (
        f"{hook}{inspect.signature(getattr(hookspecs, hook))}: the docstring documents "
        f"{documented}, the signature has {parameters(hook)}")
    assert re.search(r"^:return: \S", doc, re.M), f"{hook}'s docstring has no ':return:' line"
    assert not re.search(r"^:(returns|arg|argument|parameter|type|rtype)\b", doc, re.M), (
        f"{hook}: one docstring style (':param name:', ':return:')")


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_in_the_readme_with_its_parameters(hook):
    """The README's plugin section names every hook as it is called: `name(param, ...)`."""
    shown = f"`{hook}({', '.join(parameters(hook))})`"
    assert shown in plugins_section(), f"README.md's plugin section does not show {shown}"


def test_readme_shows_no_hook_with_other_parameters():
    """Wherever the plugin section writes a hook with parentheses (the table, the examples),
    the names inside are the signature's, so a renamed parameter cannot stay in the README."""
    calls = re.findall(r"\b(labeld_\w+)\(([^)]*)\)", plugins_section())
    assert calls
    for name, args in calls:
        assert name in HOOKS, f"README.md shows {name}(), which is not a hook"
        written = [a.strip().split(":")[0].split("=")[0].strip() for a in args.split(",")
                   if a.strip()]
        assert written == parameters(name), (
            f"README.md shows {name}({args}), the code has {name}({', '.join(parameters(name))})")


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


def test_no_table_in_the_readme_is_broken_by_a_blank_line():
    lines = README.split("\n")
    broken = [i + 1 for i in range(1, len(lines) - 1) if not lines[i].strip()
              and lines[i - 1].startswith("|") and lines[i + 1].startswith("|")]
    assert broken == [], f"blank lines inside tables at README lines {broken}"


def test_every_link_and_image_in_the_readme_stays_in_the_repository():
    root = Path(__file__).parent.parent
    for target in re.findall(r"\]\(([^)\s]+)\)", README):
        assert not re.match(r"[a-z]+://", target), f"a link out of the repository: {target}"
        path = target.split("#")[0]
        assert not path or (root / path).resolve().is_relative_to(root.resolve()), target
        assert not path or (root / path).exists(), f"the README links to a missing {target}"
