"""The fleet channel's topics and payloads (version 1), as both sides build and read them."""

import pytest

from labeld.fleet import protocol as p


def test_a_shops_topics_are_one_tree_under_the_prefix_and_version():
    assert p.presence("labeld", "bp-12") == "labeld/v1/bp-12/presence"
    assert p.printer("labeld", "bp-12", "shelf") == "labeld/v1/bp-12/printers/shelf"
    assert p.queue("labeld", "bp-12") == "labeld/v1/bp-12/queue"
    assert p.events("labeld", "bp-12") == "labeld/v1/bp-12/events"
    assert p.requests_of("labeld", "bp-12") == "labeld/v1/bp-12/request/+/+"
    assert p.responses("labeld", "anna") == "labeld/v1/desk/anna/responses"


def test_who_asks_is_read_from_the_topic_the_broker_let_them_publish_to():
    topic = p.request("labeld", "bp-12", "tech", "anna")
    assert p.parse_request_topic("labeld", topic) == p.Asker("bp-12", "tech", "anna")
    for other in ("labeld/v1/bp-12/request/admin/anna", "labeld/v1/bp-12/presence",
                  "other/v1/bp-12/request/tech/anna", "labeld/v2/bp-12/request/tech/anna",
                  "labeld/v1/bp-12/request/tech/anna/more"):
        assert p.parse_request_topic("labeld", other) is None, other


def test_no_wildcard_or_separator_can_sneak_into_a_level():
    for bad in ("+", "#", "a/b", "", "x" * 64):
        with pytest.raises(ValueError):
            p.printer("labeld", "bp-12", bad)
    with pytest.raises(ValueError):
        p.request("labeld", "bp-12", "admin", "anna")


def test_state_topics_read_back():
    assert p.parse_state_topic("labeld", "labeld/v1/bp-12/printers/shelf") == p.ShopTopic(
        "bp-12", "printers", "shelf")
    assert p.parse_state_topic("labeld", "labeld/v1/bp-12/presence") == p.ShopTopic(
        "bp-12", "presence")
    assert p.parse_state_topic("labeld", "labeld/v1/desk/anna/responses") is None
    assert p.parse_state_topic("labeld", "labeld/v1/bp-12/request/tech/anna") is None


def test_payloads_carry_the_version_and_unreadable_ones_are_skipped():
    assert p.read(p.answer({"state": "idle"})) == {"v": 1, "ok": True, "result": {"state": "idle"}}
    refused = p.read(p.refusal("unknown-op", "No such request.", "Ask for status."))
    assert refused["ok"] is False and refused["error"]["code"] == "unknown-op"
    assert p.read("Árvíztűrő".encode()) is None
    assert p.read(b"[1, 2]") is None and p.read(b'{"v": 2}') is None
