"""Make this checkout importable as ``ansible_collections.vectorops.milvus`` for every test.

A temporary ``ansible_collections/vectorops/milvus`` symlink points at the repository, so unit
tests exercise the source tree as it is. Integration tests set ANSIBLE_COLLECTIONS_PATH to the
same directory unless the runner installed a built collection already (tests/run does).
"""

import os
import shutil
import sys
import tempfile

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _collections_dir():
    base = tempfile.mkdtemp(prefix="vectorops-collections-")
    os.makedirs(os.path.join(base, "ansible_collections", "vectorops"))
    os.symlink(REPO_ROOT, os.path.join(base, "ansible_collections", "vectorops", "milvus"))
    return base


COLLECTIONS_DIR = os.environ.get("VECTOROPS_COLLECTIONS_DIR") or _collections_dir()
os.environ.setdefault("VECTOROPS_COLLECTIONS_DIR", COLLECTIONS_DIR)
if COLLECTIONS_DIR not in sys.path:
    sys.path.insert(0, COLLECTIONS_DIR)


def pytest_sessionfinish(session, exitstatus):  # pylint: disable=unused-argument
    if COLLECTIONS_DIR.startswith(tempfile.gettempdir()) and "vectorops-collections-" in COLLECTIONS_DIR \
            and not os.environ.get("VECTOROPS_KEEP_COLLECTIONS_DIR"):
        shutil.rmtree(COLLECTIONS_DIR, ignore_errors=True)
