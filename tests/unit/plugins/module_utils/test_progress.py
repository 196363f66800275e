"""The IN_PROGRESS protocol (progress.py): one writer per backup name, whatever the store does.

Runs on a real LocalStore. ``ForgetfulStore`` is a test double for an S3-compatible store that
ignores conditional writes (If-None-Match/If-Match), which the stack's SeaweedFS cannot play: it
honours them (tests/faults/test_races.py races real runs against it).
"""

import json
import socket
import threading

import pytest

from ansible_collections.vectorops.milvus.plugins.module_utils import layout, progress, storage
from ansible_collections.vectorops.milvus.plugins.module_utils.errors import ConsistencyError, VectoropsError

KEY = "backup/b/.vectorops/IN_PROGRESS"


class ForgetfulStore(storage.LocalStore):
    """Writes unconditionally and says so (enforced=False), like a store without conditional writes."""

    def write_conditional(self, key, data, etag=None):
        self.write(key, data)
        return False, self._version(self._path(key))


def local(tmp_path, cls=storage.LocalStore):
    return cls(storage.normalize_config({"type": "local", "path": str(tmp_path)}, "backup_storage", "backup", True))


def marker(store, run):
    return progress.ProgressMarker(store, KEY, "b", lambda: dict(name="b", collections=[run]))


def race(store, runs=2):
    """Claim from ``runs`` threads released together; returns (winners, errors)."""
    barrier = threading.Barrier(runs)
    winners, errors = [], []

    def claim(index):
        own = marker(store, "run%d" % index)
        barrier.wait()
        try:
            own.claim()
            winners.append(own)
        except VectoropsError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return winners, errors


@pytest.mark.parametrize("cls", [storage.LocalStore, ForgetfulStore], ids=["conditional", "ignores-conditions"])
def test_exactly_one_of_racing_claims_wins(tmp_path, cls):
    store = local(tmp_path, cls)
    winners, errors = race(store, runs=3)
    assert len(winners) == 1 and len(errors) == 2
    stored = json.loads(store.read(KEY))
    assert stored["run_id"] == winners[0].run_id
    for exc in errors:
        assert ("was claimed at the same moment by another run" in exc.message or "is being written by host" in exc.message)
        assert "before writing anything" in exc.message or "wait for it" in exc.message


def test_a_run_that_lost_the_name_stops_and_never_overwrites_the_winner(tmp_path):
    store = local(tmp_path)
    first = marker(store, "first")
    first.claim()
    # Another run takes the name over (as one that wrote last on a store that ignores conditions would).
    store.write(KEY, json.dumps(dict(run_id="other", host="elsewhere", pid=7)).encode())
    with pytest.raises(ConsistencyError) as err:
        first.check("about to sweep leftovers")
    assert "was taken over by another run (host elsewhere, pid 7, run other)" in err.value.message
    assert "without sweeping or marking anything complete" in err.value.message
    assert first.beat() is False
    first.release()
    assert json.loads(store.read(KEY))["run_id"] == "other", "neither the heartbeat nor release touched it"


def test_heartbeat_renews_only_its_own_marker(tmp_path):
    store = local(tmp_path)
    own = marker(store, "own")
    own.claim()
    before = json.loads(store.read(KEY))["heartbeat_at"]
    assert own.beat() is True and json.loads(store.read(KEY))["run_id"] == own.run_id
    assert json.loads(store.read(KEY))["heartbeat_at"] >= before
    own.release()
    assert not store.exists(KEY)


def test_the_marker_of_a_dead_run_is_taken_over_and_a_live_one_is_not(tmp_path):
    store = local(tmp_path)
    dead = dict(run_id="dead", host=socket.gethostname(), pid=2 ** 22 + 11, heartbeat_at=layout.iso(layout.utcnow()))
    store.write(KEY, json.dumps(dead).encode())
    own = marker(store, "own")
    own.claim()
    assert json.loads(store.read(KEY))["run_id"] == own.run_id
    live = dict(run_id="live", host="elsewhere", pid=1, heartbeat_at=layout.iso(layout.utcnow()))
    store.write(KEY, json.dumps(live).encode())
    with pytest.raises(VectoropsError, match="is being written by host elsewhere, pid 1"):
        marker(store, "late").claim()


def test_conditional_writes_of_the_local_store(tmp_path):
    store = local(tmp_path)
    enforced, etag = store.write_conditional("k", b"one")
    assert enforced and store.read_versioned("k") == (b"one", etag)
    with pytest.raises(storage.ConditionFailed):
        store.write_conditional("k", b"two")  # exists
    with pytest.raises(storage.ConditionFailed):
        store.write_conditional("k", b"two", "not-the-version")
    store.write_conditional("k", b"three", etag)
    assert store.read("k") == b"three" and store.read_versioned("missing") == (None, None)
