"""wait_until, the one polling loop behind flush, import, index build and load waits; retry, the one back-off
behind retried flushes, queries and inserts."""

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils.errors import (
    ConsistencyError,
    MilvusConnectionError,
    MilvusOperationError,
)
from ansible_collections.vectorops.milvus.plugins.module_utils.timing import Timer, doubling_delays, retry, wait_until


def test_returns_the_first_truthy_result_without_sleeping_after_it():
    answers = iter([False, None, {"rows": 7}, "never asked"])
    assert wait_until(lambda: next(answers), 5, lambda: "unused", interval=0.001) == {"rows": 7}
    assert next(answers) == "never asked"


def test_times_out_with_the_message_built_from_the_last_state():
    seen = []

    def check():
        seen.append(len(seen))
        return False

    with pytest.raises(ConsistencyError) as err:
        wait_until(check, 0.05, lambda: "still waiting after %d polls" % len(seen), interval=0.01)
    assert err.value.message == "still waiting after %d polls" % len(seen) and len(seen) >= 2


def test_zero_timeout_still_polls_once():
    assert wait_until(lambda: "done", 0, lambda: "unused") == "done"
    with pytest.raises(ConsistencyError):
        wait_until(lambda: False, 0, lambda: "timed out")


def test_a_failure_raised_by_the_check_stops_the_wait():
    def check():
        raise MilvusOperationError("import failed: bad binlog")

    with pytest.raises(MilvusOperationError, match="bad binlog"):
        wait_until(check, 60, lambda: "unused")


def test_the_interval_doubles_up_to_its_cap(monkeypatch):
    pauses = []
    monkeypatch.setattr("time.sleep", pauses.append)
    answers = iter([False] * 6 + [True])
    wait_until(lambda: next(answers), 60, lambda: "unused", interval=0.05, max_interval=0.3)
    assert pauses == [0.05, 0.1, 0.2, 0.3, 0.3, 0.3]


def test_timer_adds_up_a_phase_entered_twice_and_keeps_it_on_failure():
    timer = Timer()
    for name in ("copy", "copy"):
        with timer.phase(name):
            pass
    with pytest.raises(ValueError):
        with timer.phase("index"):
            raise ValueError("boom")
    durations = timer.total()
    assert set(durations) == {"copy", "index", "total"} and durations["copy"] >= 0


def test_doubling_delays_counted_and_capped_or_up_to_the_longest():
    assert doubling_delays(1.0, 30, count=7) == [1.0, 2.0, 4.0, 8.0, 16.0, 30, 30]
    assert doubling_delays(0.5, 60.0) == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def test_retry_pauses_between_accepted_failures_and_raises_the_rest(monkeypatch):
    pauses, retried = [], []
    monkeypatch.setattr("time.sleep", pauses.append)
    answers = iter([MilvusOperationError("busy"), MilvusOperationError("busy"), "done"])

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def busy(exc):
        return isinstance(exc, MilvusOperationError) and exc.message == "busy"
    assert retry(call, busy, [1, 2, 3], lambda: retried.append(1)) == "done"
    assert pauses == [1, 2] and len(retried) == 2
    calls = []

    def failing(error):
        def call_failing():
            calls.append(error)
            raise error
        return call_failing
    with pytest.raises(MilvusOperationError, match="busy"):  # the last try's error, after every pause
        retry(failing(MilvusOperationError("busy")), busy, [5, 6])
    assert len(calls) == 3 and pauses[2:] == [5, 6]
    with pytest.raises(MilvusConnectionError, match="gone"):  # not accepted: at once, no pause
        retry(failing(MilvusConnectionError("gone")), busy, [7])
    assert len(calls) == 4 and pauses[2:] == [5, 6]
