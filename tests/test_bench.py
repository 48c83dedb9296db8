"""The benchmarks still run against today's daemon: a tiny run of each, checked for a clean exit
and whole results, never for speed (speed is what the full runs report).

bench_raw once went on for weeks answering every job with 401 after tokens were introduced;
this is the test that would have said so."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(script: str, *args: str) -> dict:
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ERROR" not in result.stdout + result.stderr, result.stdout[-3000:]
    (line,) = [ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")]
    return json.loads(line.removeprefix("BENCH_JSON "))


def test_bench_raw_delivers_every_job_through_the_secured_daemon():
    report = bench("bench_raw.py", "--jobs", "40", "--warmup", "8", "--rate", "40",
                   "--paced-seconds", "1", "--seconds", "5", "--routes", "labeld,naive")
    for phase in report["results"]:
        assert phase["errors"] == 0, phase
        assert phase["delivered"] == phase["submitted"] == phase["planned"], phase
    assert {p["route"] for p in report["results"]} == {"labeld", "naive"}


def test_bench_status_answers_from_both_simulators():
    report = bench("bench_status.py", "--queries", "10", "--naive-queries", "1",
                   "--selftests", "2")
    for language in ("zpl", "escpos"):
        assert report[language]["status_p50_ms"] > 0 and report[language]["selftest_p50_ms"] > 0


def test_bench_encoders_compares_identical_output():
    report = bench("bench_encoders.py")
    assert report["escpos"]["same_gs_v0_bytes"] is True  # ours and python-escpos's, same bytes
    assert report["zpl"]["labeld_vs_smallest_bytes"] <= 0  # the payload target, not speed


def test_bench_render_checks_its_own_correctness():
    report = bench("bench_render.py", "--runs", "20", "--naive-runs", "3")
    # zebrafy reads our job back to the raster; composed text is Pillow's dots; the payload
    # is no larger than zebrafy's smallest. Speed is for the full run to say.
    assert report["pass"]["decodes"] and report["pass"]["composed_text"]
    assert report["pass"]["payload"]


def test_bench_raster_guard_removes_every_planted_command():
    report = bench("bench_raster_guard.py", "--runs", "2")
    by = {(r["image"], r["language"]): r for r in report["results"]}
    # Ordinary labels and receipts hold no command to break; the worst case is nothing else.
    assert by[("4x6 label", "escpos")]["dots_changed"] == 0
    assert by[("worst case 4x6", "escpos")]["dots_changed"] > 0
    assert by[("worst case 4x6", "tspl")]["dots_changed"] > 0


def test_bench_faults_loses_nothing_and_prints_nothing_twice():
    # 12 s of faults on four printers at 20 jobs/s (~25 s in all); the full soak is 5 minutes.
    report = bench("bench_faults.py", "--seconds", "12", "--rate", "20", "--budget", "90")
    assert report["accepted"] > 0 and report["accepted"] == report["submitted"], report["refused"]
    assert report["lost"] == 0, report["evidence"]["lost"]
    assert report["printed_twice"] == 0, report["evidence"]["printed_twice"]
    assert report["completed_not_printed"] == 0, report["evidence"]["completed_not_printed"]
    assert report["wrong_printer"] == 0 and report["partial_printed"] == 0
    # Every accepted job finished: completed, or released by the bench after a not-taking-data
    # hold and then completed (a canceled one had printed once already).
    assert report["states"].get("completed", 0) + report["held_canceled"] == report["accepted"]
    # The faults were really visited, printing faults and link faults alike.
    assert len(report["faults_visited"]) >= 3, report["faults_visited"]
    assert any(w["printing"] for w in report["windows"])
    assert any(not w["printing"] for w in report["windows"])


def test_bench_console_loads_both_pages_in_a_real_browser():
    report = bench("bench_console.py", "--runs", "2")
    for page in ("console", "docs"):
        assert report[page]["bytes"] > 0 and report[page]["fcp_p50_ms"] > 0, report


def test_bench_receipts_sends_the_text_route_and_reads_it_back():
    report = bench("bench_receipts.py", "--baud", "921600")
    assert report["correct"] and report["text_lines"] >= 40
    assert report["bytes_ratio"] >= 10  # bytes, not speed: the full run reports the times


def test_bench_fleet_sees_every_fault_and_answers_every_poll():
    report = bench("bench_fleet.py", "--shops", "5", "--printers", "2", "--budget", "60")
    assert report["shops"] == 5 and report["burst_faults"] == 5 and report["poll_shops"] == 5
    assert report["cold_messages"] >= 5 * 4  # presence, two printers, queue: retained each
    assert 0 < report["fault_p50_ms"] <= report["fault_max_ms"]
    assert report["retained_bytes_per_shop_one_fault"] > report["retained_bytes_per_shop_mean"]
