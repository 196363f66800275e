"""The fault suite: hot backups under writes, damaged backups, racing runs and crashes, nothing lost.

Runs on a stack of its own (a fresh state directory, started by tests/stack/stack.py like the
main one), because its cases kill Milvus and SeaweedFS by pid and start them again with the
stack's own helpers; the main suite's stack is never touched. ``tests/run faults`` runs it (part
of the default run). Each test is one fault case. Data checks that fail raise :class:`DataLost`;
the run ends with one line a reader can compare between releases::

    faults: N tried, N survived, 0 data lost
"""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
# Never the caller's stack: a VECTOROPS_STACK_DIR exported by `stack.py env` must not be killed.
STACK_DIR = os.environ.get("VECTOROPS_FAULTS_STACK_DIR") or tempfile.mkdtemp(prefix="vectorops-faults-stack-")
os.environ["VECTOROPS_STACK_DIR"] = STACK_DIR

# The integration suite's fixtures (stack, call, playbook, clients, stores), loaded under another module
# name so that both conftest files can exist in one interpreter.
_spec = importlib.util.spec_from_file_location("integration_fixtures",
                                               os.path.join(REPO_ROOT, "tests", "integration", "conftest.py"))
integration_fixtures = importlib.util.module_from_spec(_spec)
sys.modules["integration_fixtures"] = integration_fixtures
_spec.loader.exec_module(integration_fixtures)
from integration_fixtures import (  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
    STACK, backup_store, call, lite_client, milvus_client, milvus_env, playbook, quick_setup, s3, scratch_databases, stack,
    store_for, unique,
)

# tests/stack is on sys.path now (the integration conftest put it there).
import stack as stack_module  # noqa: E402  pylint: disable=wrong-import-position


class DataLost(AssertionError):
    """A fault cost data: a complete backup that does not restore, a changed source, a lost collection or alias."""


def intact(condition, message):
    """Assert a data invariant; its failure counts as data lost in the summary line."""
    if not condition:
        raise DataLost(message)


class Tally:
    tried = survived = lost = 0


def pytest_runtest_logreport(report):
    if report.skipped:
        return
    if report.when == "call" or (report.when == "setup" and report.failed):
        Tally.tried += 1
        if report.passed:
            Tally.survived += 1
        elif report.failed and "DataLost" in (report.longreprtext or ""):
            Tally.lost += 1


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("faults: %d tried, %d survived, %d data lost" % (Tally.tried, Tally.survived, Tally.lost))


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
    if os.environ.get("VECTOROPS_KEEP_STACK") == "1":
        return
    subprocess.run(STACK + ["down"], check=False)
    if not os.environ.get("VECTOROPS_FAULTS_STACK_DIR"):
        shutil.rmtree(STACK_DIR, ignore_errors=True)


CALL = os.path.join(REPO_ROOT, "tests", "integration", "playbooks", "call.yml")


def ansible(milvus_env, module, params, *args, background=False):
    """One module run through ansible-playbook (in its own session when ``background``, to be killed)."""
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"]
    env = dict(milvus_env, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), CALL,
           "-e", json.dumps({"module": module, "params": params})] + list(args)
    if background:
        return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                                start_new_session=True)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900, check=False)


def binlogs_stored(store, name):
    return list(store.list(store.key(name, "binlogs") + "/"))


def wait_for(condition, proc, what, timeout=120, poll=0.02):
    """Poll until ``condition()``; fail if the background run ``proc`` ended first (too fast to interrupt)."""
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, "the run finished before %s" % what
        assert time.time() < deadline, "%s did not happen within %ds" % (what, timeout)
        time.sleep(poll)


class StackControl:
    """Kill and restart the fault stack's components by pid, as a node failure would."""

    def state(self):
        with open(os.path.join(STACK_DIR, "state.json"), encoding="utf-8") as f:
            return json.load(f)

    def pids(self, component):
        return stack_module.group_pids(self.state()[component]["pid"])

    def kill(self, component, sig=signal.SIGKILL):
        """Signal every process of the component's group (the leader and, for Milvus, its child)."""
        leader = self.state()[component]["pid"]
        os.killpg(leader, sig)
        if sig == signal.SIGKILL:
            deadline = time.time() + 30
            while stack_module.group_pids(leader) and time.time() < deadline:
                time.sleep(0.1)

    def resume(self, component):
        os.killpg(self.state()[component]["pid"], signal.SIGCONT)

    def restart(self, component):
        """Start the component again (stack.py up waits until Milvus can create, load, write and flush)."""
        subprocess.run(STACK + ["up", "--only", component], check=True)


@pytest.fixture(scope="session")
def stack_control(stack):  # pylint: disable=unused-argument,redefined-outer-name
    return StackControl()


def restore_with_fault(stack, point, action, params, paused=None, background=False):
    """The engine's restore run by restore_with_fault.py, which meets ``action`` at ``point`` (see its usage)."""
    def storage(prefix, bucket, root):
        return dict(endpoint=stack[prefix + "_ENDPOINT"], bucket=bucket, root_path=root, region="us-east-1",
                    access_key=stack[prefix + "_ACCESS_KEY"], secret_key=stack[prefix + "_SECRET_KEY"])
    engine = dict(params, uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"],
                  db_name="default", timeout=30, state="present", concurrency=4,
                  milvus_storage=storage("MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files"),
                  backup_storage=storage("BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], "backup"))
    cmd = [sys.executable, os.path.join(HERE, "restore_with_fault.py"), point, action, json.dumps(engine),
           os.path.join(STACK_DIR, "state.json")] + ([str(paused)] if paused else [])
    if background:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # pylint: disable=consider-using-with
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
