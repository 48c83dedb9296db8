"""The support bundle over the channel: chunks whose base64 stays under 64 kB, numbered from 0,
which put back together (in any order) give the zip byte for byte."""

import os
import random

from labeld.fleet import protocol


def test_chunks_put_back_together_in_any_order():
    data = os.urandom(3 * protocol.BUNDLE_CHUNK_BYTES + 17)
    chunks = protocol.bundle_chunks(data)
    assert [c["chunk"] for c in chunks] == [0, 1, 2, 3]
    assert {c["chunks"] for c in chunks} == {4} and {c["size"] for c in chunks} == {len(data)}
    assert all(len(c["data"]) <= 64 * 1024 for c in chunks)
    random.shuffle(chunks)
    assert protocol.reassemble(chunks) == data


def test_a_missing_or_damaged_chunk_gives_nothing():
    chunks = protocol.bundle_chunks(b"x" * (protocol.BUNDLE_CHUNK_BYTES + 1))
    assert protocol.reassemble(chunks[:1]) is None
    assert protocol.reassemble([chunks[0], {**chunks[1], "data": ""}]) is None
    assert protocol.reassemble([]) is None
    assert protocol.reassemble(protocol.bundle_chunks(b"")) == b""
