"""Integration tests: real Milvus 2.3.5 + SeaweedFS + Milvus Lite, driven through ansible-playbook.

The stack is started on demand (``tests/stack/stack.py up`` is idempotent) and left running for
the next session; ``tests/run`` stops it at the end.
"""

import json
import os
import subprocess
import sys
import uuid

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
STACK = [sys.executable, os.path.join(REPO_ROOT, "tests", "stack", "stack.py")]
sys.path.insert(0, os.path.join(REPO_ROOT, "tests", "stack"))
# Environment variables the modules read as connection fallbacks (MILVUS_STORAGE_* included).
CONNECTION_ENV_PREFIXES = ("MILVUS_", "BACKUP_STORAGE_")


def pytest_collection_modifyitems(items):
    for item in items:
        if "/tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack():
    """Environment of the running stack (MILVUS_URI, MILVUS_STORAGE_*, BACKUP_STORAGE_*, ...)."""
    subprocess.run(STACK + ["up"], check=True)
    out = subprocess.run(STACK + ["env", "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.fixture(scope="session")
def milvus_env(stack):
    """The process environment the modules see: the stack's variables and nothing inherited."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(CONNECTION_ENV_PREFIXES + ("K8S_AUTH_",)))
    env.update(stack)
    return env


class PlaybookRun:
    def __init__(self, proc, output):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr
        self.output = output
        self.tasks = {}
        for play in output.get("plays", []):
            for task in play.get("tasks", []):
                result = task["hosts"].get("localhost", {})
                self.tasks.setdefault(task["task"]["name"], []).append(result)

    def result(self, name, index=-1):
        """Result of the task named ``name`` (the last run of it by default)."""
        if name not in self.tasks:
            raise AssertionError("task %r did not run; ran: %s\n%s" % (name, list(self.tasks), self.stderr[-3000:]))
        return self.tasks[name][index]

    @property
    def failed_tasks(self):
        return dict((name, r) for name, runs in self.tasks.items() for r in runs if r.get("failed"))


@pytest.fixture(scope="session")
def playbook(milvus_env):
    """Run a playbook (path under tests/integration/playbooks or absolute) and parse its JSON output."""
    collections = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"]

    def run(path, extra_vars=None, env=None, check=False, args=(), connection_env=True):
        """``connection_env=False``: no MILVUS_*/MILVUS_STORAGE_*/BACKUP_STORAGE_* variables at all."""
        # An absolute path, a playbook under tests/integration/playbooks, or a collection playbook by FQCN.
        full = path if os.path.isabs(path) or not path.endswith(".yml") else os.path.join(HERE, "playbooks", path)
        cmd = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), full,
               "-e", json.dumps(extra_vars or {})] + list(args)
        if check:
            cmd.append("--check")
        run_env = dict(milvus_env, ANSIBLE_COLLECTIONS_PATH=collections,
                       ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_LOCALHOST_WARNING="false",
                       ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_FORCE_COLOR="0", ANSIBLE_RETRY_FILES_ENABLED="false")
        if not connection_env:
            run_env = dict((k, v) for k, v in run_env.items() if not k.startswith(CONNECTION_ENV_PREFIXES))
        run_env.update(env or {})
        proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=1800, check=False)
        try:
            output = json.loads(proc.stdout[proc.stdout.index("{"):]) if "{" in proc.stdout else {}
        except ValueError:
            raise AssertionError("ansible-playbook printed no JSON:\n%s\n%s" % (proc.stdout[-3000:], proc.stderr[-3000:]))
        run = PlaybookRun(proc, output)
        record_result_keys(run)
        check_import_requests(run, milvus_env)
        return run

    return run


def record_result_keys(run):
    """Hand every task result to return_contract (the fault suite loads this file from elsewhere, hence the path)."""
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    import return_contract  # pylint: disable=import-outside-toplevel
    for results in run.tasks.values():
        for task_result in results:
            return_contract.record(task_result)


IMPORT_REQUESTS_CHECKED = []  # one entry per Import request that passed the Milvus 2.4+ listing check


def pytest_terminal_summary(terminalreporter):
    terminalreporter.write_line("import requests checked against Milvus 2.4+'s one-level listing: %d passed"
                                % len(IMPORT_REQUESTS_CHECKED))


def check_import_requests(run, env):
    """Every Import request any restore of this run sent must pass Milvus 2.4+'s one-level listing
    (tests/milvus24_import_listing.py, re-implemented from Milvus's source) over the backup's real objects."""
    import milvus24_import_listing as listing  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils import catalog, storage  # pylint: disable=import-outside-toplevel
    for results in run.tasks.values():
        for result in results:
            jobs = [(c["source"], job) for c in result.get("collections") or [] if isinstance(c, dict)
                    for job in c.get("import_jobs") or []]
            args = (result.get("invocation") or {}).get("module_args") or {}
            if not jobs or not args.get("name"):
                continue
            params = dict(args)
            for option, prefix in (("milvus_storage", "MILVUS_STORAGE"), ("backup_storage", "BACKUP_STORAGE")):
                config = params[option] = dict(args.get(option) or {})
                if config.get("secret_key"):  # masked in module_args
                    config["secret_key"] = env.get(prefix + "_SECRET_KEY")
            _milvus_store, store = storage.stores_from_params(params)
            backup = catalog.read_backup(store, args["name"])
            fields = dict(("%s.%s" % (c["db_name"], c["name"]),
                           [f["fieldID"] for f in c["schema"].get("fields", []) if f.get("fieldID")])
                          for c in catalog.collections_of(backup))
            keys = ["binlogs/" + o.key.split("/binlogs/", 1)[1]
                    for o in store.list(store.key(args["name"], "binlogs") + "/")]
            for source, job in jobs:
                if job["options"].get("backup") != "true":
                    continue
                prefix = job["files"][0][:job["files"][0].index("binlogs/")]
                # Milvus 2.3 needs an empty second path where 2.4+ gets none (see import_plan): the prefixes
                # are what is checked here.
                files = [f for f in job["files"] if f]
                try:
                    listing.segments_of_request([prefix + k for k in keys], files, fields[source])
                except ValueError as exc:
                    raise AssertionError("Milvus 2.4+ would refuse import %s of %s: %s" % (job["files"], source, exc))
                IMPORT_REQUESTS_CHECKED.append(job["files"])


@pytest.fixture
def unique():
    """A short unique suffix for names created by one test."""
    return uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def milvus_client(stack):
    from pymilvus import MilvusClient  # pylint: disable=import-outside-toplevel
    client = MilvusClient(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"])
    yield client
    client.close()


@pytest.fixture(scope="session")
def lite_client(stack):
    from pymilvus import MilvusClient  # pylint: disable=import-outside-toplevel
    client = MilvusClient(uri=stack["MILVUS_LITE_URI"])
    yield client
    client.close()


@pytest.fixture(scope="session")
def quick_setup(milvus_client):
    """Seed 000's collection on Milvus 2.3.5 (created once, kept for other tests)."""
    import example_data  # pylint: disable=import-outside-toplevel
    return example_data.load_quick_setup(milvus_client)


@pytest.fixture(scope="session")
def s3(stack):
    import boto3  # pylint: disable=import-outside-toplevel
    from botocore.config import Config  # pylint: disable=import-outside-toplevel
    return boto3.client("s3", endpoint_url=stack["MILVUS_STORAGE_ENDPOINT"], region_name="us-east-1",
                        aws_access_key_id=stack["MILVUS_STORAGE_ACCESS_KEY"],
                        aws_secret_access_key=stack["MILVUS_STORAGE_SECRET_KEY"],
                        config=Config(s3={"addressing_style": "path"}))


def free_loopback_port():
    import socket  # pylint: disable=import-outside-toplevel
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def call(playbook):
    """Call one module through ansible-playbook; returns (rc, task result)."""
    def run(module, params, check=False, env=None):
        result = playbook("call.yml", {"module": module, "params": params, "check": check}, env=env)
        return result.rc, result.result("Run %s" % module)
    return run


@pytest.fixture(scope="session")
def shapes(stack, milvus_client):
    """Every collection shape of tests/integration/shapes.py, created fresh once per session."""
    import shapes as shape_module  # pylint: disable=import-outside-toplevel
    from pymilvus import MilvusClient  # pylint: disable=import-outside-toplevel
    if shape_module.DB2 not in milvus_client.list_databases():
        milvus_client.create_database(shape_module.DB2)
    db2 = MilvusClient(uri=stack["MILVUS_URI"], user=stack["MILVUS_USER"], password=stack["MILVUS_PASSWORD"],
                       db_name=shape_module.DB2)
    shape_module.create_all(milvus_client, db2)
    yield shape_module.expected()
    db2.close()


@pytest.fixture
def backup_store(stack):
    """The stack's backup store (engine object) for independent checks; deletes test backups afterwards."""
    from ansible_collections.vectorops.milvus.plugins.module_utils import catalog  # pylint: disable=import-outside-toplevel
    store = store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], "backup")
    created = []
    store.cleanup = created.append
    yield store
    for name in created:
        catalog.delete_backup(store, name)


def store_for(stack, prefix, bucket, root):
    from ansible_collections.vectorops.milvus.plugins.module_utils import storage  # pylint: disable=import-outside-toplevel
    cfg = storage.normalize_config(dict(endpoint=stack[prefix + "_ENDPOINT"], bucket=bucket, root_path=root,
                                        access_key=stack[prefix + "_ACCESS_KEY"],
                                        secret_key=stack[prefix + "_SECRET_KEY"]), "test", root, True)
    return storage.open_store(cfg)


@pytest.fixture(scope="session")
def shapes_backup(call, shapes, stack):
    """One backup of every shape (session-wide; backup and restore tests read it)."""
    import time  # pylint: disable=import-outside-toplevel
    from ansible_collections.vectorops.milvus.plugins.module_utils import catalog  # pylint: disable=import-outside-toplevel
    name = "shapes_%d" % int(time.time())
    rc, result = call("milvus_backup", {"name": name, "collections": ["quick_setup", "catalog", "vo_db2.*"],
                                        "concurrency": 8})
    assert rc == 0, result.get("msg")
    yield name, result
    catalog.delete_backup(store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], "backup"), name)


@pytest.fixture
def scratch_databases(milvus_client, stack):
    """Databases a test restores into; dropped with their collections afterwards."""
    import compare  # pylint: disable=import-outside-toplevel
    created = []
    yield created
    for db in created:
        if db not in milvus_client.list_databases():
            continue
        client = compare.client_for(stack, db)
        for name in client.list_collections():
            for alias in client.describe_collection(name)["aliases"]:
                client.drop_alias(alias)
            client.drop_collection(name)
        milvus_client.drop_database(db)
