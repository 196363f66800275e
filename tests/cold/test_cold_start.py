"""The whole stack comes up on a cold, slow machine: `tests/run cold` (not part of the default run).

A fresh state directory (so milvus-server unpacks its ~250 MB of binaries again and etcd starts
from nothing), the page cache dropped first when this runs as root, and every component's process
made to idle ``VECTOROPS_COLD_DELAY`` seconds (default 20) before it runs its program
(``VECTOROPS_STACK_SLOW_START``). The old start-up check declared Milvus dead when its wrapper had
no child 5 s after start; this proves the stack now waits, says what it waits for, and works.
Costs about one and a half minutes and a second Milvus (about 1.5 GB of memory) beside a running stack.
"""

import json
import os
import subprocess
import sys
import time

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STACK = [sys.executable, os.path.join(REPO_ROOT, "tests", "stack", "stack.py")]
DELAY = float(os.environ.get("VECTOROPS_COLD_DELAY", "20"))


def drop_page_cache():
    """Empty the kernel's page cache (root only), so binaries and wheels are read from disk again."""
    try:
        subprocess.run(["sync"], check=True)
        with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


@pytest.fixture
def cold_stack(tmp_path):
    env = dict(os.environ, VECTOROPS_STACK_DIR=str(tmp_path / "stack"), VECTOROPS_STACK_SLOW_START=str(DELAY))
    yield env
    subprocess.run(STACK + ["down"], env=env, check=False)


def test_a_cold_slow_start_comes_up_and_works(cold_stack):
    dropped = drop_page_cache()
    started = time.monotonic()
    up = subprocess.run(STACK + ["up"], env=cold_stack, capture_output=True, text=True, check=False, timeout=900)
    took = time.monotonic() - started
    sys.stderr.write("page cache dropped: %s; stack up in %.1fs with a %.0fs delay per component\n%s"
                     % (dropped, took, DELAY, up.stderr))
    assert up.returncode == 0, up.stderr
    for line in ("milvus: unpacking binaries into ", "milvus: still unpacking binaries into ",
                 "milvus: waiting for healthz", "milvus: waiting for flush to work", "milvus: ready in ",
                 "seaweedfs: ready in ", "milvus-lite: ready in "):
        assert "[stack] " + line in up.stderr, line
    assert "exited" not in up.stderr and "error" not in up.stderr

    status = subprocess.run(STACK + ["status", "--json"], env=cold_stack, capture_output=True, text=True, check=False)
    assert status.returncode == 0, status.stdout
    assert all(item["healthy"] for item in json.loads(status.stdout).values())

    # The cold Milvus serves the write path the tests need: create, insert, flush, count.
    env = json.loads(subprocess.run(STACK + ["env", "--json"], env=cold_stack, capture_output=True, text=True,
                                    check=True).stdout)
    from pymilvus import MilvusClient  # pylint: disable=import-outside-toplevel
    client = MilvusClient(uri=env["MILVUS_URI"], user=env["MILVUS_USER"], password=env["MILVUS_PASSWORD"])
    try:
        client.create_collection("cold_check", dimension=2)
        client.insert("cold_check", [{"id": i, "vector": [0.1 * i, 0.2]} for i in range(5)])
        client.flush("cold_check")
        assert client.query("cold_check", filter="", output_fields=["count(*)"],
                            consistency_level="Strong")[0]["count(*)"] == 5
    finally:
        client.close()

    down = subprocess.run(STACK + ["down"], env=cold_stack, capture_output=True, text=True, check=False)
    assert down.returncode == 0, down.stderr
    assert "stopping process group" in down.stderr
