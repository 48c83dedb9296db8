"""Guided fixes: every reason labeld can word has a guide, in every language, and the most
specific guide for a printer wins (labeld.diagnostics.guides). The "did it work?" checks run
against simulators in tests/http/test_api_guides.py."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labeld import i18n, reasons
from labeld.contracts import Guide, Reason, Severity
from labeld.diagnostics import guides
from labeld.i18n import N_
from labeld.pluginmanager import default_manager

PLUGINS = default_manager()
PLUGIN_GUIDES = PLUGINS.guides()
MODELS = PLUGINS.models()
EVERY_CODE = sorted(guides.known_codes(PLUGIN_GUIDES))
# The printers a shop has: one of each family.
PRINTERS = [(m.id, m.language) for m in MODELS.values()]


def test_every_reason_code_and_labelds_own_codes_have_a_guide():
    assert set(reasons.codes()) <= set(EVERY_CODE)
    for code in ("jobs-held", "media-size-mismatch", "barcode-unreadable", "wrong-roll",
                 "language-mismatch", "zpl-utf8-without-ci28"):
        assert code in EVERY_CODE


@pytest.mark.parametrize("model, language", PRINTERS, ids=[m for m, _ in PRINTERS])
def test_every_guide_has_a_title_and_steps_in_every_language(model, language):
    for code in EVERY_CODE:
        shown = guides.guide_json(guides.resolve(code, model, language, PLUGIN_GUIDES), "p")
        assert shown["steps"], code
        for text in (shown["title"], *shown["steps"]):
            assert set(text) == set(i18n.SUPPORTED), code
            assert all(text[lang].strip() for lang in i18n.SUPPORTED), (code, text)
            assert "{" not in text["en"], (code, text)  # no placeholder left unfilled
        assert shown["check"] in ("status", "queue", "none")


def test_the_common_faults_have_written_guides_not_the_fallback():
    written = {g.code for g in guides.GUIDES}
    for code in ("paper-out", "head-open", "ribbon-out", "paused", "printer-unreachable",
                 "printer-off", "not-taking-data", "cover-open", "cutter-error", "head-too-hot",
                 "paper-jam", "jobs-held", "media-size-mismatch", "barcode-unreadable",
                 "wrong-roll", "language-mismatch", "zpl-utf8-without-ci28"):
        assert code in written, code


def test_what_each_check_does_fits_the_code():
    checks = {g.code: g.check for g in guides.GUIDES}
    assert checks["jobs-held"] == "queue"
    assert checks["paper-out"] == checks["printer-unreachable"] == "status"
    # settings and print quality: no status tells them
    for code in ("zpl-utf8-without-ci28", "barcode-unreadable", "language-mismatch",
                 "media-size-mismatch", "wrong-roll"):
        assert checks[code] == "none", code


def test_a_reason_without_a_written_guide_gets_its_own_hint_then_did_it_work():
    guide = guides.resolve("paper-feed-error", "zebra-generic-203", "zpl", PLUGIN_GUIDES)
    shown = guides.guide_json(guide, "p")
    hint = reasons.lookup("paper-feed-error").hint.as_dict()
    assert shown["source"] == "fallback" and shown["check"] == "status"
    assert shown["steps"][0] == hint
    assert shown["steps"][0]["hu"] != shown["steps"][0]["en"]  # the catalogue's Hungarian
    assert "Did it work?" in shown["steps"][-1]["en"]


def test_the_most_specific_guide_wins():
    model_only = Guide("paper-out", (N_("A"),), models=("zebra-generic-300",))
    family = Guide("paper-out", (N_("B"),), language="zpl")
    other_family = Guide("head-open", (N_("C"),), language="escpos")
    everyone = Guide("scale-off", (N_("D"),))
    mine = [everyone, other_family, family, model_only]

    def source(code: str, model: str) -> tuple[str, str]:
        g = guides.resolve(code, model, "zpl", mine)
        return g.source, g.steps[0]

    assert source("paper-out", "zebra-generic-300") == ("model", "A")
    assert source("paper-out", "zebra-generic-203") == ("language", "B")
    assert source("head-open", "zebra-generic-203")[0] == "labeld"  # escpos's is not for a zpl
    assert source("scale-off", "zebra-generic-203") == ("labeld", "D")
    assert source("paper-jam", "zebra-generic-203")[0] == "labeld"


def test_the_families_bring_their_own_steps_and_drawings():
    for language, model in (("zpl", "zebra-generic-203"), ("escpos", "escpos-generic-80"),
                            ("tspl", "tsc-generic-203")):
        guide = guides.resolve("paper-out", model, language, PLUGIN_GUIDES)
        assert guide.source == "language" and guide.drawing is not None, language
        assert guide.drawing.is_file()
    receipt = guides.resolve("paper-out", "escpos-generic-80", "escpos", PLUGIN_GUIDES)
    assert any("from under the roll" in s for s in receipt.steps)
    zebra = guides.resolve("head-open", "zebra-generic-203", "zpl", PLUGIN_GUIDES)
    assert any("both latches" in s for s in zebra.steps)


def drawings() -> list[Path]:
    return sorted({g.drawing for g in PLUGIN_GUIDES if g.drawing is not None})


@pytest.mark.parametrize("path", drawings(), ids=lambda p: p.name)
def test_a_drawing_is_small_word_free_svg(path):
    data = path.read_bytes()
    assert len(data) < 4096
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    tags = {el.tag.rsplit("}", 1)[-1] for el in root.iter()}
    # No words in the drawing (the page says them in the reader's language), nothing active.
    assert not tags & {"text", "tspan", "script", "foreignObject", "image", "a"}
    assert not re.search(rb"on[a-z]+=|href=\"(?!#)|<!--", data)


def test_the_outcome_of_a_status_check():
    paper_out = Reason("media-empty", "paper-out", Severity.ERROR)
    unreachable = reasons.PRINTER_UNREACHABLE
    assert guides.status_outcome("paper-out", [paper_out], True).fixed is False
    assert guides.status_outcome("paper-out", [], True).fixed is True
    # The printer said nothing: the roll may be in, labeld cannot tell.
    assert guides.status_outcome("paper-out", [unreachable], False).fixed is None
    assert guides.status_outcome("printer-off", [unreachable], False).fixed is False
    assert guides.status_outcome("printer-off", [reasons.NO_STATUS_REPLY], False).fixed is True
    assert guides.status_outcome("head-open", [paper_out], True).still == (paper_out,)


# -- labeld doctor ----------------------------------------------------------------------------

def test_doctor_prints_each_faults_guide_under_it(daemon, zebra, capsys, monkeypatch):
    from labeld.cli import main
    from tests.conftest import printer, token

    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    zebra.set_fault("head-open")
    monkeypatch.setenv("LABELD_TOKEN", token(client, "tech"))
    assert main(["doctor", "--url", str(client.base_url)]) == 1
    out = capsys.readouterr().out
    fault = out.index("Print head is open")
    steps = [out.index(f"    {n}. ", fault) for n in (1, 2, 3)]
    assert steps == sorted(steps)
    assert "both latches click" in out[steps[0]:]  # the Zebra family's steps
    assert "When it worked: The status light is steady green." in out

    assert main(["doctor", "--url", str(client.base_url), "--json"]) == 1
    [shelf] = json.loads(capsys.readouterr().out)["printers"]
    assert [g["code"] for g in shelf["guides"]] == ["head-open"]
    assert shelf["guides"][0]["steps"][1]["en"].startswith("Press the cover down")


def test_doctor_words_the_steps_in_hungarian(daemon, zebra, capsys, monkeypatch):
    """A garbled reply has no written guide: its steps are the reason's own hint, which the
    Hungarian catalogue words, then "did it work?"."""
    from labeld.cli import main
    from tests.conftest import printer, token

    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    zebra.set_fault("garbage")
    monkeypatch.setenv("LABELD_TOKEN", token(client, "tech"))
    main(["doctor", "--url", str(client.base_url), "--lang", "hu"])
    out = " ".join(capsys.readouterr().out.split())  # the table may wrap a long line
    hint = reasons.lookup("garbled-status-reply").hint.hu
    assert f"1. {hint}" in out
