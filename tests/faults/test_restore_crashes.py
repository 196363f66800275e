"""Restores interrupted by a crash: Milvus killed during import or index build, a replace cut off mid-swap.

Before the fix, a target left by a killed restore was unmarked: the rerun failed "already exists",
``state=absent`` refused to drop it ("its mark: none"), ``replace`` left its ``__vo_tmp_`` copy, a
crash in the swap window lost the live collection's aliases, and staging prefixes stayed in
Milvus's bucket. Now every created collection is marked as being restored from the start, a swap
is journaled first, and the next run of the same task finishes (or ``state=absent`` removes) what
the dead run left; the live collection and its aliases come through intact.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest
from pymilvus import DataType, MilvusClient

from conftest import HERE, intact, restore_with_fault, store_for

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog

ROWS = 40000
DIM = 64


def count(client, name):
    return client.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]


def wait_loaded(client, name, timeout=180):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if str(client.get_load_state(name)["state"]).endswith("Loaded"):
                return
        except Exception:  # pylint: disable=broad-except
            pass
        time.sleep(1)
    raise AssertionError("%s did not load again after the restart" % name)


def staging_left(stack):
    return list(store_for(stack, "MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files").list("files/restore-temp-"))


def new_collection(client, name):
    """An empty (id, vector) collection with an IVF index, replacing what an earlier run on a kept stack left
    (the collection, its aliases, and the temporary and replaced copies of a restore into it)."""
    for stale in [c for c in client.list_collections() if c == name or c.startswith(name + "__vo_")]:
        for alias in client.describe_collection(stale)["aliases"]:
            client.drop_alias(alias)
        client.drop_collection(stale)
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 256})
    client.create_collection(name, schema=schema, index_params=index)


@pytest.fixture(scope="module")
def source(milvus_client, call, stack):
    """A 40,000-row collection with an IVF index and an alias, and one backup of it (in the backup bucket)."""
    name = "crash_src"
    new_collection(milvus_client, name)
    rng = random.Random(3)
    for start in range(0, ROWS, 5000):
        milvus_client.insert(name, [{"id": i, "vector": [rng.random() for _d in range(DIM)]}
                                    for i in range(start, start + 5000)])
    milvus_client.flush(name)
    try:
        milvus_client.drop_alias("crash_live")  # Milvus 2.3 keeps an alias of a dropped collection's name
    except Exception:  # pylint: disable=broad-except
        pass
    milvus_client.create_alias(name, "crash_live")
    rc, made = call("milvus_backup", {"name": "crash_backup", "collections": [name]})
    assert rc == 0, made.get("msg")
    yield name, made
    catalog.delete_backup(store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], "backup"), "crash_backup")


def start_restore(milvus_env, params):
    """ansible-playbook running milvus_restore, in the background (as the test's 'node')."""
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"]
    env = dict(milvus_env, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"),
           os.path.join(os.path.dirname(HERE), "integration", "playbooks", "call.yml"),
           "-e", json.dumps({"module": "milvus_restore", "params": params})]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # pylint: disable=consider-using-with
                            start_new_session=True)


def wait_for(condition, what, proc=None, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            output = proc.stdout.read()[-3000:] if getattr(proc, "stdout", None) else ""
            raise AssertionError("the restore finished before %s%s" % (what, ": " + output if output else ""))
        time.sleep(0.05)
    raise AssertionError("timed out waiting for %s" % what)


def assert_source_intact(client, name, made):
    wait_loaded(client, name)
    intact(count(client, name) == made["collections"][0]["live_row_count"], "the source collection changed")
    intact(client.describe_collection(name)["aliases"] == ["crash_live"], "the source lost its alias")


def make_live(client, live, rows=100):
    """A live collection (an older, smaller version of the data) reached through two aliases."""
    new_collection(client, live)
    client.insert(live, [{"id": i, "vector": [0.5] * DIM} for i in range(rows)])
    client.flush(live)
    aliases = sorted(["%s_app" % live, "%s_search" % live])
    for alias in aliases:
        client.create_alias(live, alias)
    return aliases


def assert_replaced(client, live, aliases, made):
    intact(client.has_collection(live), "the live collection %s is gone" % live)
    intact(sorted(client.describe_collection(live)["aliases"]) == aliases,
           "the aliases of %s were lost: %s" % (live, client.describe_collection(live)["aliases"]))
    wait_loaded(client, live)
    intact(count(client, live) == made["collections"][0]["live_row_count"], "the replace of %s did not land" % live)
    assert [c for c in client.list_collections() if c.startswith(live + "__vo_")] == [], "no temporary copies remain"


def test_milvus_killed_while_restores_import_index_and_swap_then_the_next_runs_finish(
        call, milvus_client, milvus_env, stack, stack_control, source, tmp_path):
    """One Milvus kill, three restores caught in three phases: importing, building the index, swapping a replace.

    The importing one's task dies with Milvus (the node is gone: its staging prefix is left behind),
    the indexing one (held by restore_with_fault.py right after it requested its index) sees Milvus go
    and fails, the swapping one is held right after it dropped the live collection's aliases and dies too.
    """
    name, made = source
    importing = {"name": "crash_backup", "collections": [name], "suffix": "_import", "restore_aliases": False}
    indexing = {"name": "crash_backup", "collections": [name], "suffix": "_index", "restore_aliases": False}
    live = "crash_swap_live"
    aliases = make_live(milvus_client, live)
    swapping = {"name": "crash_backup", "rename": ["default.%s:default.%s" % (name, live)], "existing": "replace",
                "restore_aliases": False}
    paused, held = tmp_path / "paused", tmp_path / "held"
    swapper = restore_with_fault(stack, "after-aliases-dropped", "pause", swapping, paused, background=True)
    # The indexing one is held right after it requested its index (how long a build takes depends on the
    # machine: a cold, loaded one and a fast one must both catch it building), and let go once Milvus is dead.
    first = restore_with_fault(stack, "index-requested", "hold", indexing, held, background=True)
    second = None
    try:
        wait_for(paused.exists, "the replace reached its swap", timeout=600)
        wait_for(held.exists, "the first restore requested its index", first, timeout=600)
        second = start_restore(milvus_env, importing)
        wait_for(lambda: milvus_client.has_collection(name + "_import"), "the second restore created its target",
                 second)
        assert not milvus_client.list_indexes(name + "_import"), "the second restore was still importing"
        os.killpg(second.pid, signal.SIGKILL)
        swapper.kill()
        stack_control.kill("milvus")
        held.unlink()  # the first restore carries on and finds Milvus gone
        out, _err = first.communicate(timeout=300)
    finally:
        for proc in (first, second, swapper):
            if proc is not None:
                if proc.poll() is None:
                    proc.kill()
                proc.wait(timeout=300)
        stack_control.restart("milvus")
    last = (out.strip().splitlines() or [""])[-1]
    assert last.startswith("{"), "the held restore crashed instead of failing: %s" % out[-3000:]
    outcome = json.loads(last)
    assert outcome["ok"] is False and "Milvus" in outcome["msg"], outcome
    for target in (name + "_import", name + "_index"):
        intact(milvus_client.has_collection(target), "the killed restore left no debris in %s to test with" % target)

    # The importing one: its next run drops what the dead run left, restores again and sweeps its staging.
    rc, result = call("milvus_restore", importing)
    intact(rc == 0, "the rerun of the interrupted import failed: %s" % result.get("msg"))
    assert result["collections"][0]["rows_restored"] == made["collections"][0]["live_row_count"]
    assert any("left unfinished by a restore of the same backup" in r for r in result["recovered"]), result
    assert result["staging"]["swept"], "the dead run's staging prefix was swept"
    # The indexing one: state=absent removes the debris (before the fix: "its mark: none", left alone), then it runs.
    rc, removed = call("milvus_restore", dict(indexing, state="absent"))
    assert rc == 0 and removed["removed"] == ["default.%s_index" % name], removed
    rc, result = call("milvus_restore", indexing)
    intact(rc == 0, "the restore after removing the debris failed: %s" % result.get("msg"))
    # The swapping one: the next run finishes the replace from its journal; the aliases come back.
    rc, result = call("milvus_restore", swapping)
    intact(rc == 0, "the rerun after a cut-off swap failed: %s" % result.get("msg"))
    assert any("finished replacing" in r for r in result["recovered"]), result["recovered"]
    assert_replaced(milvus_client, live, aliases, made)

    assert staging_left(stack) == []
    for suffix in ("_import", "_index"):
        rc, verified = call("milvus_verify", {"level": "collection", "name": "crash_backup", "collections": [name],
                                              "suffix": suffix})
        intact(rc == 0 and verified["passed"], "the finished restore does not verify: %s" % verified.get("msg"))
        milvus_client.drop_collection(name + suffix)
    assert_source_intact(milvus_client, name, made)
    milvus_client.drop_collection(live)


def test_a_replace_cut_off_in_the_swap_by_a_dead_task_is_finished_by_the_next_run(call, milvus_client, stack,
                                                                                  source):
    """The task dies (SIGKILL) right after the live collection was renamed aside: no name, no aliases."""
    name, made = source
    live = "crash_task_live"
    aliases = make_live(milvus_client, live)
    params = {"name": "crash_backup", "rename": ["default.%s:default.%s" % (name, live)], "existing": "replace",
              "restore_aliases": False}
    fault = restore_with_fault(stack, "after-first-rename", "kill-self", params)
    assert fault.returncode == -9, fault.stderr[-2000:]
    intact(not milvus_client.has_collection(live), "the fault did not hit the swap window")
    rc, result = call("milvus_restore", params)
    intact(rc == 0, "the rerun after a cut-off swap failed: %s" % result.get("msg"))
    assert any("finished replacing" in r for r in result["recovered"]), result["recovered"]
    assert result["staging"]["swept"], "the dead run's staging prefix was swept"
    assert_replaced(milvus_client, live, aliases, made)
    assert_source_intact(milvus_client, name, made)
    milvus_client.drop_collection(live)
