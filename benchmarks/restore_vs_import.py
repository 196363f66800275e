#!/usr/bin/env python
"""Restore time next to Milvus's own import-job time for the same segments (the floor).

One run, on the local stack (Milvus 2.3.5 + SeaweedFS on loopback), with the collection of
backup_vs_raw_copy.py (default 200,000 rows x 128 dims, 4 partitions, deletes):

(a) floor: create an empty collection and run Milvus's bulk import (backup=true) for every segment of a
    backup, --concurrency jobs at a time, straight from the backup's files: nothing else;
(b) the restore engine without staging (backup in Milvus's bucket): create, import, count check, index, load;
(c) the same with the backup in another bucket (staging copy into Milvus's bucket and clean-up).
Prints seconds, the import phase and ratios to (a).

Usage: .venv/bin/python benchmarks/restore_vs_import.py [--rows 200000 --dim 128 --partitions 4 --concurrency 4]
"""

import sys
import time
import uuid

import bench_data


def stores(env, backup_bucket, backup_root):
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel

    def make(bucket, root):
        return storage.open_store(storage.normalize_config(dict(
            endpoint=env["MILVUS_STORAGE_ENDPOINT"], bucket=bucket, root_path=root,
            access_key=env["MILVUS_STORAGE_ACCESS_KEY"], secret_key=env["MILVUS_STORAGE_SECRET_KEY"]), "s", root, True))
    return make(env["MILVUS_STORAGE_BUCKET"], "files"), make(backup_bucket, backup_root)


def floor(conn, backup, source, target, concurrency):
    """Create the collection, then only the import jobs, measured from the first Import to the last Completed."""
    from ansible_collections.vectorops.milvus.plugins.module_utils.restore import RestoreJob  # pylint: disable=import-outside-toplevel
    job = RestoreJob(conn, None, None, backup, dict(concurrency=concurrency, import_timeout=3600))
    job._create(source, "default", target, {})  # pylint: disable=protected-access
    started = time.time()
    job.data._import(source, source["segments"], "default", target, backup.paths.prefix)  # pylint: disable=protected-access
    return time.time() - started


def main():
    args = bench_data.collection_arguments(__doc__, ("--concurrency", 4))
    bench_data.collections_path()
    from ansible_collections.vectorops.milvus.plugins.module_utils import backup, catalog, restore  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection  # pylint: disable=import-outside-toplevel

    env = bench_data.stack_env()
    collection, client = bench_data.bench_collection(env, args)
    params = dict(uri=env["MILVUS_URI"], user=env["MILVUS_USER"], password=env["MILVUS_PASSWORD"], db_name="default",
                  timeout=60)
    run_id = uuid.uuid4().hex[:8]
    name = "bench_restore_%s" % run_id
    milvus_store, in_bucket = stores(env, env["MILVUS_STORAGE_BUCKET"], "bench-backups")
    _milvus, other_bucket = stores(env, env["BACKUP_STORAGE_BUCKET"], "backup")
    targets = []
    try:
        with MilvusConnection(params) as conn:
            for store in (in_bucket, other_bucket):
                backup.BackupJob(conn, milvus_store, store, dict(
                    name=name, collections=[collection], strategy="flush", concurrency=16, gc_pause="skip",
                    management_uri=env["MILVUS_MANAGEMENT_URI"], check_mode=False)).run()
            stored = catalog.require_complete(in_bucket, name)
            source = catalog.collections_of(stored)[0]
            targets.append("%s_floor" % collection)
            floor_s = floor(conn, stored, source, targets[-1], args.concurrency)
            rows_floor = client.get_collection_stats(targets[-1])["row_count"]
            results = {}
            for label, store in (("no staging (backup in Milvus's bucket)", in_bucket),
                                 ("staging (backup in another bucket)", other_bucket)):
                suffix = "_rs_%s" % ("in" if store is in_bucket else "out")
                targets.append(collection + suffix)
                started = time.time()
                result = restore.RestoreJob(conn, milvus_store, store, catalog.require_complete(store, name), dict(
                    suffix=suffix, concurrency=args.concurrency, import_timeout=3600, index_timeout=3600,
                    load_timeout=600)).run(check_mode=False)
                results[label] = (time.time() - started, result["collections"][0])
    finally:
        for store in (in_bucket, other_bucket):
            catalog.delete_backup(store, name)
        for target in targets:
            if client.has_collection(target):
                client.drop_collection(target)
    entry = results["no staging (backup in Milvus's bucket)"][1]
    print("\nRestore benchmark: %d rows x %d dims, %d partitions, %d segments, %.1f MiB, %d import jobs at a time"
          % (args.rows, args.dim, args.partitions, entry["segments"], entry["bytes"] / 1048576.0, args.concurrency))
    print("| run | seconds | import phase | ratio to floor (total) | ratio to floor (import) | rows |")
    print("|---|---|---|---|---|---|")
    print("| (a) floor: Milvus import jobs only | %.2f | %.2f | 1.00 | 1.00 | %d |" % (floor_s, floor_s, rows_floor))
    for label, (seconds, entry) in results.items():
        phases = entry["durations"]
        print("| %s | %.2f | %.2f | %.2f | %.2f | %d |"
              % (label, seconds, phases["import"], seconds / floor_s, phases["import"] / floor_s, entry["rows_restored"]))
        print("|   phases: %s | | | | | |" % ", ".join("%s %.2f" % kv for kv in sorted(phases.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
