"""Benchmark data: a large collection on the local stack (shared by the backup and restore benchmarks)."""

import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from pymilvus import DataType, MilvusClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STACK = [sys.executable, os.path.join(REPO, "tests", "stack", "stack.py")]
# Outside the checkout: a link to the repository inside it would be a loop for tools that walk the tree.
COLLECTIONS_DIR = os.path.join(tempfile.gettempdir(), "vectorops-bench-collections-%d" % os.getuid())


def collection_arguments(doc, *extra):
    """Parse --rows/--dim/--partitions (and ``extra``: (flag, default) int options) for a benchmark script."""
    import argparse  # pylint: disable=import-outside-toplevel
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, default in (("--rows", 200000), ("--dim", 128), ("--partitions", 4)) + extra:
        parser.add_argument(flag, type=int, default=default)
    return parser.parse_args()


def bench_collection(env, args):
    """(name, client) of the benchmark collection for ``args`` (created or reused)."""
    collection = "bench_%dk_%dd" % (args.rows // 1000, args.dim)
    return collection, ensure_collection(env, collection, args.rows, args.dim, args.partitions)


def stack_env():
    """Start the stack if needed; return its environment variables."""
    import json  # pylint: disable=import-outside-toplevel
    subprocess.run(STACK + ["up", "--only", "milvus"], check=True)
    out = subprocess.run(STACK + ["env", "--json"], check=True, capture_output=True, text=True).stdout
    env = json.loads(out)
    os.environ.update(env)
    return env


def collections_path():
    """This checkout, importable as ansible_collections.vectorops.milvus (for the engine and ansible)."""
    link = os.path.join(COLLECTIONS_DIR, "ansible_collections", "vectorops", "milvus")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    if COLLECTIONS_DIR not in sys.path:
        sys.path.insert(0, COLLECTIONS_DIR)
    return COLLECTIONS_DIR


def client(env):
    return MilvusClient(uri=env["MILVUS_URI"], user=env["MILVUS_USER"], password=env["MILVUS_PASSWORD"])


def ensure_collection(env, name, rows, dim, partitions, delete_every=50, batch=20000):
    """Create ``name`` with ``rows`` rows of ``dim`` float32 vectors over ``partitions`` partitions (reused when present)."""
    c = client(env)
    if c.has_collection(name) and c.get_collection_stats(name)["row_count"] == rows:
        return c
    if c.has_collection(name):
        c.drop_collection(name)
    started = time.time()
    schema = MilvusClient.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("tag", DataType.VARCHAR, max_length=16)
    index = c.prepare_index_params()
    index.add_index(field_name="vec", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 128})
    c.create_collection(name, schema=schema, index_params=index)
    names = ["_default"] + ["p%d" % i for i in range(1, partitions)]
    for part in names[1:]:
        c.create_partition(name, part)
    rng = np.random.default_rng(42)
    per_part = rows // partitions
    for p, part in enumerate(names):
        for start in range(0, per_part, batch):
            n = min(batch, per_part - start)
            base = p * per_part + start
            vecs = rng.random((n, dim), dtype=np.float32)
            c.insert(name, [{"pk": base + i, "vec": vecs[i].tolist(), "tag": "t%d" % ((base + i) % 10)}
                            for i in range(n)], partition_name=part)
    c.flush(name)
    c.delete(name, filter="pk in [%s]" % ",".join(str(i) for i in range(0, rows, delete_every)))
    c.flush(name)
    print("created %s: %d rows x %d dims in %.0fs" % (name, rows, dim, time.time() - started), file=sys.stderr)
    return c


def own_peak_rss_mb():
    """This process's peak RSS since exec (VmHWM). getrusage() of a child would report the parent's
    high-water mark inherited at fork, which says nothing about the child."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024.0, 1)
    return None
