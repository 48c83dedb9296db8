"""The spool's commit counter is on /metrics, where the benchmark reads it."""

import re

from tests.conftest import printer


def commits(client) -> int:
    resp = client.get("/metrics")
    assert resp.status_code == 200
    (value,) = re.findall(r"^labeld_spool_commits_total (\S+)$", resp.text, re.M)
    return int(float(value))


def test_the_commit_counter_is_on_metrics_and_counts_commits(daemon, zebra):
    client = daemon([printer("shelf", zebra, "zebra-generic-203")])
    assert re.search(r"^# TYPE labeld_spool_commits(_total)? counter$", client.get("/metrics").text,
                     re.M)
    before = commits(client)
    assert before > 0  # the token lookup and the scrape itself are transactions
    resp = client.post("/v1/jobs", json={"printer": "shelf", "raw": {"data": "^XA^XZ"}})
    assert resp.status_code == 202, resp.text
    after = commits(client)
    assert after > before
    # The Database's own counter, read after that scrape: the same count, or more by now.
    assert client.server.app.state.daemon.db.commits >= after
