"""Start-up watching of the local test stack (tests/stack/stack.py), with real processes.

The fake components are small Python processes shaped like the real ones: a leader (the
``milvus-server`` wrapper) that may spawn a child (``milvus run standalone``) only after a delay,
as the wrapper does while it unpacks ~250 MB of binaries into a new data directory.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stack"))

import stack  # noqa: E402  pylint: disable=wrong-import-position

# Longer than the 5 s after which the old wait_until declared a wrapper without its child dead.
LATE_CHILD_SECONDS = 7


FAKE_LEADER = """
import json, os, subprocess, sys, time
spec = json.loads(os.environ["FAKE_SPEC"])
print(spec["say"], flush=True)
if spec["leader_exit"] is not None:
    sys.exit(spec["leader_exit"])
if spec["child_after"] is not None:
    time.sleep(spec["child_after"])
    subprocess.Popen([sys.executable, "-c", "import sys, time; time.sleep(float(sys.argv[1]))",
                      str(spec["child_lives"]), spec["marker"]])
time.sleep(120)
"""


def fake_component(tmp_path, child_after=None, child_lives=60, leader_exit=None, say=""):
    """Start a leader that prints ``say``, spawns a child after ``child_after`` s (living ``child_lives`` s),
    or exits with ``leader_exit``. Returns (Popen, child marker, log path)."""
    marker = "vectorops-fake-child-%s" % uuid.uuid4().hex[:8]
    logfile = str(tmp_path / "leader.log")
    with open(logfile, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, "-c", FAKE_LEADER], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            # (in the environment: a marker on the leader's command line would make it look like the child)
            env=dict(os.environ, FAKE_SPEC=json.dumps(dict(say=say, leader_exit=leader_exit, child_after=child_after,
                                                           child_lives=child_lives, marker=marker))))
    return proc, marker, logfile


@pytest.fixture
def started():
    procs = []
    yield procs.append
    for proc in procs:
        for pid in stack.group_pids(proc.pid):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        proc.wait()


def test_a_child_that_appears_late_is_a_slow_start_not_a_crash(tmp_path, started, capsys):
    proc, marker, logfile = fake_component(tmp_path, child_after=LATE_CHILD_SECONDS)
    started(proc)
    startup = stack.Startup("milvus", proc, [logfile], marker)
    stack.wait_until(startup, [("unpacking binaries", startup.child_alive, lambda: "12 MB so far")], timeout=60,
                     report_every=2)
    assert startup.child_seen and startup.death() is None
    err = capsys.readouterr().err
    assert "[stack] milvus: unpacking binaries\n" in err
    assert "[stack] milvus: still unpacking binaries (" in err and ", 12 MB so far)" in err


def test_a_child_that_vanishes_after_it_was_seen_is_dead_at_once(tmp_path, started):
    proc, marker, logfile = fake_component(tmp_path, child_after=0, child_lives=1, say="child went away")
    started(proc)
    startup = stack.Startup("milvus", proc, [logfile], marker)
    with pytest.raises(stack.StackError) as err:
        stack.wait_until(startup, [("unpacking binaries", startup.child_alive, None),
                                   ("waiting for healthz", lambda: False, None)], timeout=120)
    message = str(err.value)
    assert message.startswith("milvus lost its child process %r during start-up (while waiting for healthz)" % marker)
    assert "not ready after" not in message and "child went away" in message
    assert proc.poll() is None, "the leader itself still runs"


def test_a_leader_that_exits_is_dead_and_its_log_is_shown(tmp_path, started):
    proc, _marker, logfile = fake_component(tmp_path, leader_exit=3, say="bind: address already in use")
    started(proc)
    with pytest.raises(stack.StackError) as err:
        stack.wait_until(stack.Startup("seaweedfs", proc, [logfile, str(tmp_path / "never-written.log")]),
                         [("waiting for the S3 API", lambda: False, None)], timeout=120)
    message = str(err.value)
    assert message.startswith("seaweedfs exited with status 3 during start-up (while waiting for the S3 API)")
    assert "see %s:\nbind: address already in use" % logfile in message and "never-written" not in message


def test_a_step_that_never_succeeds_times_out_naming_the_step_and_the_last_error(tmp_path, started, capsys):
    proc, _marker, logfile = fake_component(tmp_path)
    started(proc)
    calls = []

    def refuses():
        calls.append("healthz")
        raise ConnectionRefusedError("connection refused")

    steps = [("waiting for gRPC", lambda: calls.append("grpc") or True, None), ("waiting for healthz", refuses, None),
             ("waiting for flush to work", lambda: calls.append("flush"), None)]
    with pytest.raises(stack.StackError) as err:
        stack.wait_until(stack.Startup("milvus-lite", proc, [logfile]), steps, timeout=1.5, poll=0.1, report_every=0.5)
    assert str(err.value).startswith(
        "milvus-lite not ready after 1.5s: still waiting for healthz (last error: connection refused)")
    assert calls[0] == "grpc" and set(calls[1:]) == {"healthz"}, "steps run in order, each until it succeeds"
    assert "[stack] milvus-lite: still waiting for healthz (" in capsys.readouterr().err


def test_exec_after_keeps_the_pid_so_the_watch_follows_the_real_program():
    proc = subprocess.Popen([sys.executable, stack.__file__, stack.EXEC_AFTER, "0.2", "--", sys.executable, "-c",  # pylint: disable=consider-using-with
                             "import os; print(os.getpid())"], stdout=subprocess.PIPE, text=True)
    printed = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0 and int(printed) == proc.pid
