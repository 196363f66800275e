#!/usr/bin/env python
"""Backup throughput: milvus_backup vs a raw boto3 copy of exactly the same objects.

One run, on the local stack (Milvus 2.3.5 + SeaweedFS on loopback):

1. a collection of --rows x --dim float vectors over --partitions partitions with some deletes;
2. (a) raw: boto3 CopyObject of exactly the objects a backup copies, --concurrency threads, nothing else;
3. (b) engine: the backup engine (flush, plan, copy, SHA-256, manifest, COMPLETE), same concurrency;
4. (c) module: ``milvus_backup`` through ansible-playbook, as users run it;
5. prints times, ratios to (a) (target: engine <= 1.15) and the peak RSS of each process.

Usage: .venv/bin/python benchmarks/backup_vs_raw_copy.py [--rows 200000 --dim 128 --partitions 4 --concurrency 16]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

import bench_data

HERE = os.path.dirname(os.path.abspath(__file__))


def store_from_env(prefix, bucket=None, root=None):
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel
    cfg = storage.normalize_config(dict(
        endpoint=os.environ[prefix + "_ENDPOINT"], bucket=bucket or os.environ[prefix + "_BUCKET"],
        root_path=root if root is not None else os.environ[prefix + "_ROOT_PATH"],
        access_key=os.environ[prefix + "_ACCESS_KEY"], secret_key=os.environ[prefix + "_SECRET_KEY"]),
        prefix.lower(), "backup", True)
    return storage.open_store(cfg)


def connection_params():
    return dict(uri=os.environ["MILVUS_URI"], user=os.environ["MILVUS_USER"], password=os.environ["MILVUS_PASSWORD"],
                db_name="default", timeout=60)


# ------------------------------------------------------------------ workers (run in their own process)
def raw_worker(spec_path):
    """Copy the listed objects with plain boto3 calls, like a hand-written script would: CopyObject
    (server-side) or download_file into a directory (streaming)."""
    import concurrent.futures  # pylint: disable=import-outside-toplevel
    spec = json.load(open(spec_path))
    store = store_from_env("BACKUP_STORAGE")
    client = store.client
    started = time.time()

    def copy(key):
        if spec["mode"] == "streaming":
            target = os.path.join(spec["dest_dir"], key)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            client.download_file(spec["source_bucket"], key, target)
        else:
            client.copy_object(Bucket=spec["dest_bucket"], Key=spec["dest_prefix"] + key,
                               CopySource={"Bucket": spec["source_bucket"], "Key": key})

    with concurrent.futures.ThreadPoolExecutor(spec["concurrency"]) as pool:
        list(pool.map(copy, spec["keys"]))
    print(json.dumps({"seconds": time.time() - started, "peak_rss_mb": bench_data.own_peak_rss_mb()}))


def engine_worker(spec_path):
    from ansible_collections.vectorops.milvus.plugins.module_utils import backup  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel
    spec = json.load(open(spec_path))
    if spec["mode"] == "streaming":
        os.makedirs(spec["dest_dir"], exist_ok=True)
        target = storage.open_store(storage.normalize_config({"type": "local", "path": spec["dest_dir"]}, "b", "backup", True))
    else:
        target = store_from_env("BACKUP_STORAGE")
    started = time.time()
    with MilvusConnection(connection_params()) as conn:
        result = backup.BackupJob(conn, store_from_env("MILVUS_STORAGE", root="files"), target,
                                  dict(name=spec["name"], collections=[spec["collection"]], strategy="flush",
                                       concurrency=spec["concurrency"], gc_pause="try",
                                       management_uri=os.environ["MILVUS_MANAGEMENT_URI"], check_mode=False)).run()
    print(json.dumps({"seconds": time.time() - started, "totals": result["totals"], "durations": result["durations"],
                      "checksums": result["checksums"]["sources"], "peak_rss_mb": bench_data.own_peak_rss_mb()}))


# ------------------------------------------------------------------ driver
def run_measured(cmd, env=None):
    """Run ``cmd``; return (wall seconds, last stdout line as JSON or None)."""
    started = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    seconds = time.time() - started
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s\n%s" % (cmd[:3], proc.stdout[-2000:], proc.stderr[-2000:]))
    lines = [line for line in proc.stdout.strip().splitlines() if line.startswith("{")]
    return seconds, json.loads(lines[-1]) if lines else None


def planned_objects(collection):
    from ansible_collections.vectorops.milvus.plugins.module_utils import backup, binlog_format  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.describe import describe_collection  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils.milvus import MilvusConnection  # pylint: disable=import-outside-toplevel
    with MilvusConnection(connection_params()) as conn:
        desc = describe_collection(conn, "default", collection, exact_count=False, segments=True)
        job = binlog_format.BinlogBackup(backup.BackupJob(
            conn, store_from_env("MILVUS_STORAGE", root="files"), store_from_env("BACKUP_STORAGE"), dict(name="plan_only")))
        plan = job._plan_segments(backup.CollectionPlan(desc, "x"))  # pylint: disable=protected-access
    return [(obj.key, obj.size) for seg in plan.segments.values()
            for objs in list(seg.insert.values()) + [seg.delta] for obj in objs]


def measure(mode, env, collection, objects, total_bytes, concurrency):
    """One raw copy, one engine backup, one module backup (server-side only) in ``mode``; prints table rows."""
    import shutil  # pylint: disable=import-outside-toplevel
    run_id = uuid.uuid4().hex[:8]
    backup_store = store_from_env("BACKUP_STORAGE")
    work = tempfile.mkdtemp(prefix="vectorops-bench-")
    raw_prefix = "bench-raw/%s/" % run_id
    spec = dict(keys=[k for k, _s in objects], concurrency=concurrency, source_bucket=env["MILVUS_STORAGE_BUCKET"],
                dest_bucket=env["BACKUP_STORAGE_BUCKET"], dest_prefix=raw_prefix, mode=mode,
                dest_dir=os.path.join(work, "raw"), name="bench_engine_%s" % run_id, collection=collection)
    spec_path = os.path.join(work, "spec.json")
    json.dump(spec, open(spec_path, "w"))
    me = [sys.executable, os.path.abspath(__file__)]
    module_name = "bench_module_%s" % run_id
    try:
        _wall, raw = run_measured(me + ["--raw-worker", spec_path])
        spec["dest_dir"] = os.path.join(work, "engine")
        json.dump(spec, open(spec_path, "w"))
        _wall, engine = run_measured(me + ["--engine-worker", spec_path])
        module_s = None
        if mode == "server-side":
            playbook = os.path.join(work, "backup.yml")
            with open(playbook, "w") as f:
                f.write("- hosts: localhost\n  gather_facts: false\n  tasks:\n    - name: Back up\n"
                        "      vectorops.milvus.milvus_backup: {name: %s, collections: [%s], concurrency: %d}\n"
                        % (module_name, collection, concurrency))
            ansible_env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=bench_data.COLLECTIONS_DIR,
                               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false")
            module_s, _m = run_measured([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), playbook],
                                        env=ansible_env)
    finally:
        from ansible_collections.vectorops.milvus.plugins.module_utils import catalog  # pylint: disable=import-outside-toplevel
        for name in (spec["name"], module_name):
            catalog.delete_backup(backup_store, name)
        raw_store = store_from_env("BACKUP_STORAGE", root="")
        raw_store.delete([o.key for o in raw_store.list(raw_prefix)])
        shutil.rmtree(work, ignore_errors=True)
    assert engine["totals"]["objects"] == len(objects) and engine["totals"]["bytes"] == total_bytes, \
        "the backup copied different objects than the raw baseline"
    raw_s, engine_s, copy_s = raw["seconds"], engine["seconds"], engine["durations"].get("copy", 0)
    what = "boto3 CopyObject" if mode == "server-side" else "boto3 download_file to a directory"
    print("| %s | (a) raw %s, same objects | %.2f | 1.00 | %s |" % (mode, what, raw_s, raw["peak_rss_mb"]))
    print("| %s | (b) backup engine: flush, plan, copy + SHA-256, manifest | %.2f | %.2f | %s |"
          % (mode, engine_s, engine_s / raw_s, engine["peak_rss_mb"]))
    print("| %s | (b) copy phase only (SHA-256 from: %s) | %.2f | %.2f | |"
          % (mode, ", ".join(sorted(engine["checksums"])), copy_s, copy_s / raw_s))
    if module_s:
        print("| %s | (c) milvus_backup via ansible-playbook, wall clock | %.2f | %.2f | n/a |"
              % (mode, module_s, module_s / raw_s))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--raw-worker")
    parser.add_argument("--engine-worker")
    args = parser.parse_args()
    bench_data.collections_path()
    if args.raw_worker:
        return raw_worker(args.raw_worker)
    if args.engine_worker:
        return engine_worker(args.engine_worker)

    env = bench_data.stack_env()
    collection = "bench_%dk_%dd" % (args.rows // 1000, args.dim)
    bench_data.ensure_collection(env, collection, args.rows, args.dim, args.partitions)
    objects = planned_objects(collection)
    total_bytes = sum(size for _key, size in objects)
    print("\nBackup benchmark: %d rows x %d dims, %d partitions, %d objects, %.1f MiB, concurrency %d"
          % (args.rows, args.dim, args.partitions, len(objects), total_bytes / 1048576.0, args.concurrency))
    print("| transfer | run | seconds | ratio to raw | peak RSS MiB |")
    print("|---|---|---|---|---|")
    for mode in ("server-side", "streaming"):
        measure(mode, env, collection, objects, total_bytes, args.concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
