#!/usr/bin/env python
"""The logical format next to the raw operations it is built from, measured in one run.

On the local stack (Milvus 2.3.5 + SeaweedFS on loopback), with the collection of bench_data.py
(default 200,000 rows x 128 dims, 4 partitions, deletes):

(a) export: the engine's logical export (Parquet files, SHA-256, upload to the backup bucket, the primary-key
    re-read of a server without pinned reads) vs a raw pymilvus ``query_iterator`` over the same fields and
    partitions that only counts rows; goal <= 1.3x (``fingerprint=false``; the export with ``fingerprint=true``, which
    decodes every row for the content digest, is printed next to it). The export's peak RSS is measured in a process of its own
    (goal: < 400 MiB and not growing with the rows);
(b) bulk-import restore: the restore engine (``logical_restore=bulk_import``: checksums, staging, import, count)
    with ``restore_index=false load=false`` vs Milvus's own import jobs of the same staged files into an empty
    collection; and the whole restore (index build and load included) vs that import followed by Milvus's own
    index build and load; goal <= 1.2x;
(c) insert restore: the restore engine (``logical_restore=insert``) vs raw ``insert`` calls of the same rows in the
    same batches (read from the same Parquet files); goal <= 1.3x.

Usage: .venv/bin/python benchmarks/logical_vs_raw.py [--rows 200000 --dim 128 --partitions 4] [--export-only 1]
(``--export-only 1``: (a) and the export's peak RSS only, e.g. for the 1,000,000-row point)
"""

import multiprocessing
import resource
import sys
import time
import uuid

import bench_data


def params_of(env):
    return dict(uri=env["MILVUS_URI"], user=env["MILVUS_USER"], password=env["MILVUS_PASSWORD"], db_name="default",
                timeout=120)


def backup_store(env):
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel
    return storage.open_store(storage.normalize_config(dict(
        endpoint=env["BACKUP_STORAGE_ENDPOINT"], bucket=env["BACKUP_STORAGE_BUCKET"], root_path="bench-logical",
        access_key=env["BACKUP_STORAGE_ACCESS_KEY"], secret_key=env["BACKUP_STORAGE_SECRET_KEY"]), "b", "b", True))


def milvus_store(env):
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel
    return storage.open_store(storage.normalize_config(dict(
        endpoint=env["MILVUS_STORAGE_ENDPOINT"], bucket=env["MILVUS_STORAGE_BUCKET"], root_path="files",
        access_key=env["MILVUS_STORAGE_ACCESS_KEY"], secret_key=env["MILVUS_STORAGE_SECRET_KEY"]), "m", "files", False))


def raw_iterator(env, collection, partitions):
    client = bench_data.client(env)
    rows = 0
    started = time.time()
    for part in partitions:
        iterator = client.query_iterator(collection, batch_size=4096, output_fields=["*"], partition_names=[part],
                                         consistency_level="Strong")
        while True:
            batch = iterator.next()
            if not batch:
                break
            rows += len(batch)
        iterator.close()
    return time.time() - started, rows


def export_in_child(env, collection, name, queue, with_fingerprint=False):
    """The logical backup engine in a process of its own, so that its peak RSS is its own."""
    bench_data.collections_path()
    from ansible_collections.vectorops.milvus.plugins.module_utils import backup  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection  # pylint: disable=import-outside-toplevel
    with MilvusConnection(params_of(env)) as conn:
        conn.connect()
        started = time.time()
        result = backup.BackupJob(conn, None, backup_store(env), dict(
            name=name, collections=[collection], strategy="flush", format="logical", fingerprint=with_fingerprint,
            check_mode=False)).run()
        seconds = time.time() - started
    queue.put((seconds, result["durations"].get("export"), result["totals"]["rows"], result["totals"]["bytes"],
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


def export(env, collection, name, with_fingerprint):
    """(seconds, export phase seconds, rows, bytes, peak RSS MiB) of the export in a process of its own."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=export_in_child, args=(env, collection, name, queue, with_fingerprint))
    child.start()
    result = queue.get(timeout=3600)
    child.join()
    return result


def raw_insert(env, stored, source, target):
    """The same rows, read from the same Parquet files, inserted in the same batches by plain pymilvus."""
    import pyarrow.parquet as pq  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils import logical  # pylint: disable=import-outside-toplevel
    client = bench_data.client(env)
    fields = logical.stored_fields(source["schema"])
    store = stored.store
    started = time.time()
    for item in source["files"]:
        inserter = logical.Inserter(None, store, stored.paths, "default", target, source["schema"])
        path = inserter._spool(item)  # pylint: disable=protected-access
        for batch in pq.ParquetFile(path).iter_batches(batch_size=logical.BATCH_ROWS):
            client.insert(target, logical.table_to_rows(batch, fields), partition_name=item["partition"])
    client.flush(target)
    return time.time() - started


def raw_index_and_load(env, target):
    """Milvus's own index build (waited for until every row is indexed) and load of ``target`` (the benchmark
    collection's index, bench_data.py)."""
    client = bench_data.client(env)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 128})
    started = time.time()
    client.create_index(target, index)
    # Built means every row indexed, the end state a restore waits for (create_index can return while the build
    # of imported segments is still pending)
    while True:
        described = client.describe_index(target, "vec")
        if described.get("pending_index_rows", 0) == 0 and described.get("indexed_rows", 0) >= described.get("total_rows", 0):
            break
        time.sleep(0.5)
    client.load_collection(target)  # waits until loaded
    return time.time() - started


def restores(env, collection, stored, source, store, mstore, name, targets):
    """(b) and (c): ({floor: seconds}, {run: (seconds, result entry)}, raw insert seconds)."""
    from ansible_collections.vectorops.milvus.plugins.module_utils import restore  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection  # pylint: disable=import-outside-toplevel
    results, floors = {}, {}
    with MilvusConnection(params_of(env)) as conn:
        conn.connect()
        # (b) floor: an empty collection, then Milvus's own import of the staged files; then its own index build and
        # load, which a restore also does
        floor_target = collection + "_lfloor"
        targets.append(floor_target)
        job = restore.RestoreJob(conn, mstore, store, stored, dict(concurrency=4, import_timeout=3600))
        prefix = mstore.key("bench-logical-stage-%s" % name) + "/"
        job._stage(dict(segments=[], files=source["files"]), prefix)  # pylint: disable=protected-access
        job._create(dict(source, indexes=[]), "default", floor_target, {})  # pylint: disable=protected-access
        started = time.time()
        job.data._import_files(source, source["files"], "default", floor_target, prefix)  # pylint: disable=protected-access
        floors["import"] = time.time() - started
        floors["index_load"] = raw_index_and_load(env, floor_target)
        job._cleanup_staging(prefix)  # pylint: disable=protected-access
        runs = (("bulk_import", "_lbim", dict(logical_restore="bulk_import", restore_index=False, load=False)),
                ("bulk_import_full", "_lbul", dict(logical_restore="bulk_import")),
                ("insert", "_lins", dict(logical_restore="insert")))
        for label, suffix, options in runs:
            targets.append(collection + suffix)
            started = time.time()
            result = restore.RestoreJob(conn, mstore, store, stored, dict(
                options, suffix=suffix, concurrency=4, import_timeout=3600, index_timeout=3600,
                load_timeout=600)).run(check_mode=False)
            results[label] = (time.time() - started, result["collections"][0])
        # (c) floor: the same rows inserted by plain pymilvus into a collection created the same way
        raw_target = collection + "_lraw"
        targets.append(raw_target)
        job._create(source, "default", raw_target, {})  # pylint: disable=protected-access
        raw_insert_s = raw_insert(env, stored, source, raw_target)
    return floors, results, raw_insert_s


def phases_text(entry):
    return ", ".join("%s %.2f" % kv for kv in sorted((entry.get("durations") or {}).items()))


def main():
    args = bench_data.collection_arguments(__doc__, ("--export-only", 0))
    bench_data.collections_path()
    from ansible_collections.vectorops.milvus.plugins.module_utils import catalog  # pylint: disable=import-outside-toplevel

    env = bench_data.stack_env()
    collection, client = bench_data.bench_collection(env, args)
    client.load_collection(collection)
    partitions = client.list_partitions(collection)
    name = "bench_logical_%s" % uuid.uuid4().hex[:8]
    store, mstore = backup_store(env), milvus_store(env)
    targets = []
    floors, results, raw_insert_s = {}, {}, None
    try:
        raw_s, raw_rows = raw_iterator(env, collection, partitions)
        fingerprinted = export(env, collection, name + "_fp", True)  # the default: rows decoded for the content digest
        catalog.delete_backup(store, name + "_fp")
        export_s, export_phase, rows, nbytes, rss = export(env, collection, name, False)
        stored = catalog.require_complete(store, name)
        source = catalog.collections_of(stored)[0]
        if not args.export_only:
            floors, results, raw_insert_s = restores(env, collection, stored, source, store, mstore, name, targets)
    finally:
        catalog.delete_backup(store, name)
        for target in targets:
            if client.has_collection(target):
                client.drop_collection(target)
    print("\nLogical benchmark: %d rows x %d dims, %d partitions, %.1f MiB of Parquet" % (
        rows, args.dim, args.partitions, nbytes / 1048576.0))
    print("| run | seconds | ratio | goal | rows |")
    print("|---|---|---|---|---|")
    print("| (a) raw query_iterator, same fields | %.2f | 1.00 | | %d |" % (raw_s, raw_rows))
    print("| (a) logical export (engine, whole backup) | %.2f | %.2f | <= 1.3 | %d |" % (export_s, export_s / raw_s, rows))
    print("| (a) logical export, export phase only | %.2f | %.2f | <= 1.3 | |" % (export_phase, export_phase / raw_s))
    print("| (a) logical export with fingerprint=true (content digest of every row), whole backup | %.2f | %.2f | | |"
          % (fingerprinted[0], fingerprinted[0] / raw_s))
    if args.export_only:
        print("\nexport peak RSS: %.1f MiB (goal < 400 MiB, not growing with rows); with fingerprint=true %.1f MiB"
              % (rss, fingerprinted[4]))
        return 0
    floor_s = floors["import"]
    full_s = floors["import"] + floors["index_load"]
    print("| (b) Milvus's import of the staged files | %.2f | 1.00 | | |" % floor_s)
    seconds, entry = results["bulk_import"]
    print("| (b) restore, bulk_import, restore_index=false load=false | %.2f | %.2f | <= 1.2 | %d |"
          % (seconds, seconds / floor_s, entry["rows_restored"]))
    print("|   phases: %s | | | | |" % phases_text(entry))
    print("| (b) Milvus's import, then its index build and load | %.2f | 1.00 | | |" % full_s)
    seconds, entry = results["bulk_import_full"]
    print("| (b) restore, bulk_import (index and load included) | %.2f | %.2f | <= 1.2 | %d |"
          % (seconds, seconds / full_s, entry["rows_restored"]))
    print("|   phases: %s | | | | |" % phases_text(entry))
    print("| (c) raw batched insert of the same rows | %.2f | 1.00 | | |" % raw_insert_s)
    seconds, entry = results["insert"]
    print("| (c) restore, logical_restore=insert | %.2f | %.2f | <= 1.3 | %d |"
          % (seconds, seconds / raw_insert_s, entry["rows_restored"]))
    print("|   phases: %s | | | | |" % phases_text(entry))
    print("\nexport peak RSS: %.1f MiB (goal < 400 MiB, not growing with rows); with fingerprint=true %.1f MiB"
          % (rss, fingerprinted[4]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
