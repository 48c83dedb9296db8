"""The job queue's state machine: every move TRANSITIONS allows works through the operation that
makes it, every other move is refused with a clear error, and the queue's finer rules hold."""

import itertools
import re
import time
from pathlib import Path

import pytest

from labeld.errors import Conflict, LabeldError
from labeld.store.jobs import (TRANSITIONS, Evidence, Finish, JobState, JobStateConflict,
                               NewJob, Op, check_move)
from tests.conftest import run

P, H, R = JobState.PENDING, JobState.HELD, JobState.PROCESSING
C, X, A = JobState.COMPLETED, JobState.CANCELED, JobState.ABORTED
FAULT = {"code": "paper-out", "message": "The printer is out of paper.", "hint": "Load paper."}


def submit(jobs, printer="p1", data="^XA^XZ", key=None):
    return run(jobs.submit(NewJob(printer, "raw", {"data": data}, idem_key=key))).job.id


# -- jobs brought into each state the table moves from -------------------------------------


def pending(jobs):
    return submit(jobs)


def processing(jobs):
    job_id = submit(jobs)
    assert run(jobs.claim_next("p1")).id == job_id
    return job_id


def sent(jobs):
    """Processing, its bytes taken by the printer, awaiting confirmation."""
    job_id = processing(jobs)
    run(jobs.finish_attempt(Finish(job_id, R, "ok", bytes_sent=6, delivery="sent")))
    return job_id


def held_for_printer(jobs):
    job_id = pending(jobs)
    assert run(jobs.hold_printer("p1", FAULT)) == 1
    return job_id


def canceled(jobs):
    job_id = pending(jobs)
    run(jobs.cancel(job_id))
    return job_id


def aborted(jobs):
    job_id = processing(jobs)
    run(jobs.finish_attempt(Finish(job_id, A, "abort", error={"code": "bad", "message": "m"})))
    return job_id


def finish_to(to):
    return lambda jobs, job_id: run(jobs.finish_attempt(Finish(job_id, to, "x")))


# (operation, from, to) -> (how to get a job in `from`, the call that moves it)
MOVES = {
    (Op.CLAIM, P, R): (pending, lambda jobs, _: run(jobs.claim_next("p1"))),
    **{(Op.FINISH, R, to): (processing, finish_to(to)) for to in (P, H, R, C, A)},
    (Op.CANCEL, P, X): (pending, lambda jobs, j: run(jobs.cancel(j))),
    (Op.CANCEL, H, X): (held_for_printer, lambda jobs, j: run(jobs.cancel(j))),
    (Op.CANCEL, R, X): (processing, lambda jobs, j: run(jobs.cancel(j))),
    (Op.RELEASE, H, P): (held_for_printer, lambda jobs, j: run(jobs.release(j))),
    (Op.RESTART, X, P): (canceled, lambda jobs, j: run(jobs.restart(j))),
    (Op.RESTART, A, P): (aborted, lambda jobs, j: run(jobs.restart(j))),
    (Op.RECOVER, R, P): (processing, lambda jobs, _: run(jobs.recover({"p1": "retry"}))),
    (Op.RECOVER, R, H): (processing, lambda jobs, _: run(jobs.recover({"p1": "hold"}))),
    (Op.RECOVER, R, C): (sent, lambda jobs, _: run(jobs.recover({"p1": "retry"}))),
    (Op.HOLD_PRINTER, P, H): (pending, lambda jobs, _: run(jobs.hold_printer("p1", FAULT))),
    (Op.HOLD_PRINTER, H, H): (held_for_printer,
                              lambda jobs, _: run(jobs.hold_printer("p1", {"code": "head-open"}))),
    (Op.RELEASE_PRINTER, H, P): (held_for_printer, lambda jobs, _: run(jobs.release_printer("p1"))),
    (Op.SETTLE, R, C): (sent, lambda jobs, j: run(jobs.settle([j], "confirmed", Evidence.COUNTER))),
    (Op.UNSEND, R, P): (sent, lambda jobs, j: run(jobs.unsend(j, FAULT, hold=False))),
    (Op.UNSEND, R, H): (sent, lambda jobs, j: run(jobs.unsend(j, FAULT, hold=True))),
}
TABLE = {(op, frm, to) for op, moves in TRANSITIONS.items()
         for frm, targets in moves.items() for to in targets}


def test_every_move_of_the_table_is_exercised_here():
    assert set(MOVES) == TABLE


@pytest.mark.parametrize("op,frm,to", sorted(TABLE), ids=lambda v: str(v))
def test_every_allowed_move_works(jobs, op, frm, to):
    setup, act = MOVES[(op, frm, to)]
    job_id = setup(jobs)
    assert run(jobs.get(job_id)).state is frm
    act(jobs, job_id)
    job = run(jobs.get(job_id))
    assert job.state is to
    assert (job.finished_at is not None) == (to in (C, X, A))


@pytest.mark.parametrize("op", list(Op))
def test_every_other_move_is_refused_with_a_clear_error(op):
    for frm, to in itertools.product(JobState, JobState):
        if (op, frm, to) in TABLE:
            check_move(op, "j1", frm, to)  # allowed: no error
            continue
        with pytest.raises(JobStateConflict) as refused:
            check_move(op, "j1", frm, to)
        err = refused.value
        assert isinstance(err, Conflict) and err.status == 409
        assert (err.op, err.current, err.to) == (op, frm, to)
        assert "j1" in err.message and frm in err.message and err.code


def test_refusals_keep_the_api_codes_and_hints(jobs):
    done = aborted(jobs)
    with pytest.raises(Conflict) as err:
        run(jobs.cancel(done))
    assert err.value.code == "job-finished" and "already aborted" in err.value.message
    waiting = pending(jobs)
    with pytest.raises(Conflict) as err:
        run(jobs.release(waiting))
    assert err.value.code == "job-not-held"
    with pytest.raises(Conflict) as err:
        run(jobs.restart(waiting))
    assert "still in the queue" in err.value.hint
    run(jobs.cancel(waiting))
    completed = processing(jobs)
    run(jobs.finish_attempt(Finish(completed, C, "ok")))
    with pytest.raises(Conflict) as err:
        run(jobs.restart(completed))
    assert err.value.code == "job-not-restartable" and "submit it again" in err.value.hint


def test_a_finish_the_table_forbids_is_refused_and_changes_nothing(jobs):
    job_id = processing(jobs)
    with pytest.raises(JobStateConflict) as err:
        run(jobs.finish_attempt(Finish(job_id, X, "ok")))
    assert "finish cannot move" in err.value.message
    job = run(jobs.get(job_id, with_attempts=True))
    assert job.state is R and job.attempt_log[0].ended_at is None


def test_a_job_canceled_while_sending_keeps_its_cancel(jobs):
    job_id = processing(jobs)
    run(jobs.cancel(job_id))
    run(jobs.finish_attempt(Finish(job_id, C, "ok", bytes_sent=6)))
    job = run(jobs.get(job_id, with_attempts=True))
    assert job.state is X and job.attempt_log[0].outcome == "ok"  # the attempt is still closed


def test_bulk_moves_leave_jobs_the_table_does_not_let_them_take(jobs):
    busy = processing(jobs)
    person = submit(jobs)
    run(jobs.finish_attempt(Finish(busy, C, "ok")))
    run(jobs.claim_next("p1"))
    run(jobs.recover({"p1": "hold"}))  # `person` is held for a person, not for the printer
    waiting = pending(jobs)
    assert run(jobs.hold_printer("p1", FAULT)) == 1  # only `waiting`
    assert run(jobs.release_printer("p1")) == 1
    assert run(jobs.get(person)).state is H and run(jobs.get(waiting)).state is P
    assert run(jobs.settle([busy, waiting], "confirmed", Evidence.STATUS)) == 0
    assert run(jobs.unsend(waiting, FAULT, hold=False)) is False


def test_sql_names_states_by_the_enum_not_by_literals():
    source = (Path(__file__).parents[2] / "labeld" / "store" / "jobs.py").read_text()
    literals = {s.value for s in JobState}
    assert not re.findall(rf"'({'|'.join(literals)})'", source)


# -- the queue's finer rules ----------------------------------------------------------------


def test_an_idempotency_key_past_its_window_may_name_a_new_job(jobs):
    first = submit(jobs, key="k")
    assert submit(jobs, key="k") == first
    two_days_ago = time.time() - 48 * 3600
    jobs.db.run_sync(lambda c: c.execute("UPDATE jobs SET created_at=?", (two_days_ago,)))
    second = submit(jobs, data="another body", key="k")
    assert second != first and run(jobs.get(first)).idem_key is None


def test_a_full_queue_refuses_with_503_and_finished_jobs_do_not_count(jobs):
    done = processing(jobs)
    run(jobs.finish_attempt(Finish(done, C, "ok")))
    run(jobs.submit(NewJob("p1", "raw", {}), max_queue=1))
    with pytest.raises(LabeldError) as err:
        run(jobs.submit(NewJob("p1", "raw", {"n": 2}), max_queue=1))
    assert err.value.status == 503 and err.value.code == "queue-full"
    run(jobs.submit(NewJob("p2", "raw", {}), max_queue=1))  # another printer's queue


def test_failures_count_retries_and_interruptions_since_the_last_restart(jobs):
    job_id = processing(jobs)
    assert run(jobs.get(job_id)).state is R
    run(jobs.finish_attempt(Finish(job_id, P, "retry")))
    run(jobs.claim_next("p1"))
    run(jobs.finish_attempt(Finish(job_id, P, "hold")))  # a printer fault: not the job's failure
    assert run(jobs.claim_next("p1")).failures == 2  # the retry, and this attempt
    run(jobs.recover({"p1": "retry"}))  # interrupted
    assert run(jobs.claim_next("p1")).failures == 3
    run(jobs.finish_attempt(Finish(job_id, A, "abort")))
    time.sleep(0.01)
    run(jobs.restart(job_id))
    assert run(jobs.claim_next("p1")).failures == 1


def test_counts_by_printer_and_state(jobs):
    processing(jobs)
    submit(jobs)
    submit(jobs, printer="p2")
    assert sorted(run(jobs.counts_by_printer_and_state())) == [("p1", P, 1), ("p1", R, 1),
                                                              ("p2", P, 1)]
    assert run(jobs.queued_counts()) == {"p1": 2, "p2": 1}


# -- raw bytes -------------------------------------------------------------------------------


def test_a_raw_job_hands_delivery_the_bytes_intake_decoded(jobs):
    data = bytes(range(256)) * 3  # not text: nothing on the way may re-encode it
    job_id = run(jobs.submit(NewJob("p1", "raw", {"bytes": len(data)}, raw=data))).job.id
    listed = run(jobs.list(printer="p1"))
    assert [j.raw for j in listed] == [None]  # listing jobs reads no raw bytes
    claimed = run(jobs.claim_next("p1"))
    assert claimed.id == job_id and claimed.raw == data


def test_a_raw_job_stored_by_an_earlier_labeld_still_prints(jobs):
    """Before raw_data existed the client's text stayed in the payload; it is decoded when
    such a job is claimed."""
    run(jobs.submit(NewJob("p1", "raw", {"data": "XlhBXlha", "encoding": "base64"})))
    run(jobs.submit(NewJob("p2", "raw", {"data": "^XAÁrvíztűrő^XZ"})))
    assert run(jobs.claim_next("p1")).raw == b"^XA^XZ"
    assert run(jobs.claim_next("p2")).raw == "^XAÁrvíztűrő^XZ".encode()


def test_the_same_payload_with_other_raw_bytes_is_another_request(jobs):
    first = NewJob("p1", "raw", {"bytes": 3}, raw=b"abc", idem_key="k")
    assert run(jobs.submit(first)).created
    with pytest.raises(LabeldError) as err:
        run(jobs.submit(NewJob("p1", "raw", {"bytes": 3}, raw=b"abd", idem_key="k")))
    assert err.value.status in (409, 422)


def test_pruning_a_finished_raw_job_removes_its_bytes(jobs):
    job_id = run(jobs.submit(NewJob("p1", "raw", {}, raw=b"^XA^XZ"))).job.id
    run(jobs.cancel(job_id))
    assert run(jobs.prune(-1)) == 1
    count = "SELECT count(*) FROM raw_data"
    assert run(jobs.db.run(lambda conn: conn.execute(count).fetchone()[0])) == 0
