"""Two runs of the same backup name started within 50 ms of each other, with different collections.

Before the fix both ran: one run's sweep deleted the other's binlogs, both reported success and the
stored backup was COMPLETE with objects missing. Now exactly one run claims the name (IN_PROGRESS
created with a conditional write, read back after a settle time, checked again before the sweep and
before COMPLETE), the other stops before writing anything with a message naming the winner, and
the completeness check is made against a fresh listing of the store.
"""

import hashlib
import json
import os
import random
import subprocess
import sys
import time

from conftest import intact

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog

HERE = os.path.dirname(os.path.abspath(__file__))
TRIALS = 20
SELECTIONS = (["quick_setup"], ["catalog"])


def engine_params(stack, name, collections):
    def storage(prefix, bucket, root):
        return dict(endpoint=stack[prefix + "_ENDPOINT"], bucket=bucket, root_path=root, region="us-east-1",
                    access_key=stack[prefix + "_ACCESS_KEY"], secret_key=stack[prefix + "_SECRET_KEY"])
    return dict(name=name, collections=collections, uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"],
                password=stack["MILVUS_PASSWORD"], db_name="default", timeout=30,
                milvus_storage=storage("MILVUS_STORAGE", stack["MILVUS_STORAGE_BUCKET"], "files"),
                backup_storage=storage("BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], "backup"),
                strategy="flush", concurrency=8, golden_queries=2)


def test_same_name_runs_started_together_never_leave_a_broken_complete_backup(stack, milvus_client, backup_store,
                                                                              unique):
    import example_data  # pylint: disable=import-outside-toplevel
    example_data.load_quick_setup(milvus_client)
    example_data.load_catalog(milvus_client, rows_per_partition=200)
    rng = random.Random(7)
    outcomes = []
    for trial in range(TRIALS):
        name = "race_%s_%d" % (unique, trial)
        backup_store.cleanup(name)
        start = time.time() + 2.0  # both contenders are imported and waiting by then
        gap = rng.uniform(0, 0.05)
        procs = [subprocess.Popen([sys.executable, os.path.join(HERE, "race_backup.py"), str(start + offset),  # pylint: disable=consider-using-with
                                   json.dumps(engine_params(stack, name, selection))],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for offset, selection in ((0.0, SELECTIONS[trial % 2]), (gap, SELECTIONS[(trial + 1) % 2]))]
        runs = []
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-2000:]
            runs.append(json.loads(out.strip().splitlines()[-1]))
        assert abs(runs[0]["began"] - runs[1]["began"]) < 0.06, "the contenders started within 50 ms"
        winners = [r for r in runs if r["ok"]]
        losers = [r for r in runs if not r["ok"]]
        outcomes.append(len(winners))
        assert len(winners) == 1, "exactly one run may write the backup: %s" % [r["msg"] for r in runs]
        message = losers[0]["msg"]
        assert ("was claimed at the same moment by another run" in message or "is being written by host" in message), message
        stored = catalog.read_backup(backup_store, name)
        intact(stored.complete, "the winner's backup is not complete: %s" % stored.problems)
        want = ["default.%s" % c for c in
                [SELECTIONS[trial % 2], SELECTIONS[(trial + 1) % 2]][runs.index(winners[0])]]
        assert stored.summary()["collections"] == want, "the backup holds the winner's selection"
        for obj in stored.manifest["objects"]:
            key = stored.paths.key(obj["key"])
            data = backup_store.read(key) if backup_store.exists(key) else None
            intact(data is not None, "COMPLETE backup %s lacks %s" % (name, obj["key"]))
            intact(len(data) == obj["size"] and hashlib.sha256(data).hexdigest() == obj["sha256"],
                   "COMPLETE backup %s has a damaged %s" % (name, obj["key"]))
        catalog.delete_backup(backup_store, name)
    assert outcomes == [1] * TRIALS
