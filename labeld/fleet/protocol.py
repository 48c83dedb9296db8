"""Topics and payloads of the fleet channel, version 1: what a shop publishes and what a
technician may ask. Both sides (the shop's channel and the desk's view) build and read them
here only, so that the two cannot drift apart; other tools read README's description.

    {prefix}/v1/{shop}/presence                 retained; the broker publishes the last will
    {prefix}/v1/{shop}/printers/{printer}       retained; one per printer, on change
    {prefix}/v1/{shop}/queue                    retained; queue counts, on change
    {prefix}/v1/{shop}/events                   not retained; the shop's events as they happen
    {prefix}/v1/{shop}/request/{role}/{user}    a technician's request (MQTT 5: response topic
                                                and correlation data)
    {prefix}/v1/desk/{user}/responses           where a technician's answers go

Identity comes from the topic, not from the payload: the broker's ACL lets a user publish
only below `request/{role}/{own name}`, so a shop knows who asks and in which role without
trusting a claim in the message. Every payload is a JSON object with `"v": 1`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

VERSION: Final = 1
DEFAULT_PREFIX: Final = "labeld"
# A shop id, a printer id, a user name: one topic level, no MQTT wildcards or separators.
_LEVEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
# The roles a request may carry: the channel never acts as an administrator (no tokens, no
# templates, no raw commands), whatever the broker lets through.
REQUEST_ROLES: Final = ("staff", "tech")
OPS: Final = frozenset({"status", "selftest", "bundle", "pause", "resume", "release", "cancel",
                        "retry", "reprint", "jobs", "report"})


def valid_level(value: str) -> bool:
    """Whether `value` can be one topic level (a shop, printer or user id)."""
    return bool(_LEVEL.match(value))


def _join(prefix: str, *levels: str) -> str:
    for level in levels:
        if not valid_level(level):
            raise ValueError(f"{level!r} cannot be a topic level (letters, digits, _ . -)")
    return "/".join((prefix, f"v{VERSION}", *levels))


def presence(prefix: str, shop: str) -> str:
    return _join(prefix, shop, "presence")


def printer(prefix: str, shop: str, printer_id: str) -> str:
    return _join(prefix, shop, "printers", printer_id)


def queue(prefix: str, shop: str) -> str:
    return _join(prefix, shop, "queue")


def events(prefix: str, shop: str) -> str:
    return _join(prefix, shop, "events")


def request(prefix: str, shop: str, role: str, user: str) -> str:
    if role not in REQUEST_ROLES:
        raise ValueError(f"requests carry one of the roles {REQUEST_ROLES}, not {role!r}")
    return _join(prefix, shop, "request", role, user)


def requests_of(prefix: str, shop: str) -> str:
    """The subscription a shop makes for every request addressed to it."""
    return _join(prefix, shop) + "/request/+/+"


def responses(prefix: str, user: str) -> str:
    return _join(prefix, "desk", user, "responses")


def every_shop(prefix: str) -> str:
    """The desk's subscription: every shop's state (presence, printers, queue, events)."""
    return f"{prefix}/v{VERSION}/+/+/#"


@dataclass(frozen=True)
class Asker:
    """Who sent a request, as its topic says: the shop it is for, the role and the user."""

    shop: str
    role: str
    user: str


def parse_request_topic(prefix: str, topic: str) -> Asker | None:
    """The asker of a request topic, or None for any other topic (or a malformed one)."""
    parts = topic.split("/")
    if (len(parts) != 6 or parts[0] != prefix or parts[1] != f"v{VERSION}"
            or parts[3] != "request" or parts[4] not in REQUEST_ROLES):
        return None
    if not (valid_level(parts[2]) and valid_level(parts[5])):
        return None
    return Asker(parts[2], parts[4], parts[5])


@dataclass(frozen=True)
class ShopTopic:
    """A state topic read back: which shop, what kind (presence, printers, queue, events) and,
    for a printer, its id."""

    shop: str
    kind: str
    printer: str | None = None


def parse_state_topic(prefix: str, topic: str) -> ShopTopic | None:
    parts = topic.split("/")
    if len(parts) < 4 or parts[0] != prefix or parts[1] != f"v{VERSION}" or parts[2] == "desk":
        return None
    shop, kind = parts[2], parts[3]
    if kind in ("presence", "queue", "events") and len(parts) == 4:
        return ShopTopic(shop, kind)
    if kind == "printers" and len(parts) == 5:
        return ShopTopic(shop, kind, parts[4])
    return None


def payload(body: dict[str, Any]) -> bytes:
    """A message body: the object with the protocol version, as compact UTF-8 JSON."""
    return json.dumps({"v": VERSION, **body}, ensure_ascii=False, separators=(",", ":"),
                      default=str).encode()


def read(data: bytes | bytearray | str) -> dict[str, Any] | None:
    """A message body as an object of this version, or None (not JSON, not an object, another
    version): a reader skips what it cannot understand instead of failing on it."""
    try:
        body = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) and body.get("v") == VERSION else None


def answer(result: Any) -> bytes:
    return payload({"ok": True, "result": result})


def refusal(code: str, message: str, hint: str = "") -> bytes:
    """A request that was not carried out, in labeld's error shape (labeld.errors)."""
    return payload({"ok": False, "error": {"code": code, "message": message, "hint": hint}})


# -- requests: limits and the chunked support bundle ----------------------------------------------

MAX_JOBS: Final = 50  # the most jobs one `jobs` request lists
# Raw bytes per bundle chunk: base64 makes 4 of every 3, so a chunk's `data` stays under 64 kB.
BUNDLE_CHUNK_BYTES: Final = 48 * 1024


def bundle_chunks(data: bytes, size: int = BUNDLE_CHUNK_BYTES) -> list[dict[str, Any]]:
    """The results a `bundle` request is answered with, one reply each, in order: `chunk`
    counts from 0 to `chunks` - 1, `size` is the whole zip's length in bytes, `data` this
    part in base64. An empty bundle is one empty chunk."""
    import base64

    parts = [data[i:i + size] for i in range(0, len(data), size)] or [b""]
    return [{"chunk": i, "chunks": len(parts), "size": len(data),
             "data": base64.b64encode(part).decode("ascii")} for i, part in enumerate(parts)]


def reassemble(results: list[dict[str, Any]]) -> bytes | None:
    """The bundle from its chunks' results (in any order), or None while one is missing or
    they do not add up to `size`."""
    import base64

    if not results:
        return None
    chunks, size = results[0].get("chunks"), results[0].get("size")
    by_index = {r.get("chunk"): r.get("data", "") for r in results}
    if not isinstance(chunks, int) or set(by_index) != set(range(chunks)):
        return None
    data = b"".join(base64.b64decode(by_index[i]) for i in range(chunks))
    return data if len(data) == size else None
