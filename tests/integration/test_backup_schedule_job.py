"""The exact command of the backup_schedule role's CronJobs, run locally against the real stack.

The role is rendered (its `render` entry point) with the stack's settings; the container's command and
environment are taken from the rendered CronJob, ConfigMap and Secret (envFrom resolved as Kubernetes
would), and executed here. In the cluster the image provides `ansible-playbook` and the collection; here the
project's virtualenv and the built collection do.

The Prometheus Pushgateway is a small HTTP server on loopback that records what is pushed: no Pushgateway
can be installed from PyPI on this machine.
"""

import base64
import http.server
import os
import subprocess
import sys
import threading

import pytest
import yaml

from conftest import free_loopback_port, store_for

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "unit", "roles"))
from test_backup_schedule_manifests import render  # noqa: E402  pylint: disable=wrong-import-position


class Pushgateway(http.server.BaseHTTPRequestHandler):
    pushes = []

    def do_POST(self):  # noqa: N802 pylint: disable=invalid-name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        Pushgateway.pushes.append((self.path, body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def pushgateway():
    server = http.server.HTTPServer(("127.0.0.1", 0), Pushgateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Pushgateway.pushes = []
    yield "http://127.0.0.1:%d" % server.server_port
    server.shutdown()


def job_command(objects, cronjob_name):
    """(command, environment) of the CronJob's main container, envFrom resolved."""
    by_name = dict(((o["kind"], o["metadata"]["name"]), o) for o in objects)
    pod = by_name[("CronJob", cronjob_name)]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    env = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            data = by_name[("ConfigMap", source["configMapRef"]["name"])]["data"]
            env.update((k, v) for k, v in data.items() if k.replace("_", "").isalnum())
        else:
            data = by_name[("Secret", source["secretRef"]["name"])]["data"]
            env.update((k, base64.b64decode(v).decode()) for k, v in data.items())
    env.update((item["name"], item["value"]) for item in container.get("env", []))
    return container["command"], env


def run(command, env, tmp_path):
    local = dict(env, PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"],
                 ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"],
                 HOME=str(tmp_path), ANSIBLE_HOME=str(tmp_path / ".ansible"),
                 ANSIBLE_LOCAL_TEMP=str(tmp_path / ".ansible" / "tmp"))
    return subprocess.run(command, env=local, capture_output=True, text=True, timeout=900, check=False)


def test_the_cronjob_command_backs_up_prunes_pushes_and_fails_when_milvus_is_down(stack, quick_setup, pushgateway,
                                                                                  tmp_path, unique):
    root = "sched_%s" % unique
    objects = render(tmp_path, backup_schedule_namespace="milvus", backup_schedule_prefix="nightly",
                     backup_schedule_collections=["quick_setup"], backup_schedule_retention={"keep_last": 2},
                     backup_schedule_pushgateway_url=pushgateway, backup_schedule_verify=True,
                     backup_schedule_milvus={"uri": stack["MILVUS_URI"], "user": stack["MILVUS_USER"],
                                             "password": stack["MILVUS_PASSWORD"],
                                             "management_uri": stack["MILVUS_MANAGEMENT_URI"]},
                     backup_schedule_milvus_storage={"endpoint": stack["MILVUS_STORAGE_ENDPOINT"],
                                                     "bucket": stack["MILVUS_STORAGE_BUCKET"], "root_path": "files",
                                                     "access_key": stack["MILVUS_STORAGE_ACCESS_KEY"],
                                                     "secret_key": stack["MILVUS_STORAGE_SECRET_KEY"]},
                     backup_schedule_backup_storage={"bucket": stack["BACKUP_STORAGE_BUCKET"], "root_path": root})
    command, env = job_command(objects, "milvus-backup")
    assert command == ["ansible-playbook", "vectorops.milvus.scheduled_backup"]
    assert env["SCHEDULED_BACKUP_MODE"] == "backup" and env["MILVUS_PASSWORD"] == stack["MILVUS_PASSWORD"]
    assert env["MILVUS_MANAGEMENT_URI"] == stack["MILVUS_MANAGEMENT_URI"] and "MILVUS_REST_URI" not in env
    store = store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], root)
    try:
        for attempt in range(3):
            proc = run(command, env, tmp_path)
            assert proc.returncode == 0, proc.stdout[-3000:]
            names = [b["name"] for b in catalog.list_backups(store)]
            assert len(names) == min(attempt + 1, 2), names
            assert all(n.startswith("nightly_") for n in names)
        backups = catalog.list_backups(store)
        assert all(b["complete"] for b in backups)
        pushed = [body for path, body in Pushgateway.pushes if path == "/metrics/job/milvus_backup/instance/milvus-backup"]
        assert len(pushed) == 3 and all("milvus_backup_last_success_timestamp_seconds " in b for b in pushed)
        assert 'milvus_backup_last_run_success{mode="backup"} 1' in pushed[-1]
        assert "milvus_backup_retained 2" in pushed[-1] and "milvus_backup_pruned_last_run 1" in pushed[-1]

        verify_command, verify_env = job_command(objects, "milvus-backup-verify")
        proc = run(verify_command, verify_env, tmp_path)
        assert proc.returncode == 0, proc.stdout[-3000:]
        assert catalog.read_backup(store, backups[0]["name"]).verified["level"] == "checksum"
        assert "milvus_backup_last_verified_timestamp_seconds" in Pushgateway.pushes[-1][1]

        down = dict(env, MILVUS_URI="http://127.0.0.1:%d" % free_loopback_port(), MILVUS_TIMEOUT="3")
        proc = run(command, down, tmp_path)
        assert proc.returncode != 0
        assert "scheduled backup failed: Back up: cannot reach Milvus" in proc.stdout
        assert 'milvus_backup_last_run_success{mode="backup"} 0' in Pushgateway.pushes[-1][1]
        assert "milvus_backup_last_success_timestamp_seconds" not in Pushgateway.pushes[-1][1], \
            "a failed run must not overwrite the last success"
        assert [b["name"] for b in catalog.list_backups(store)] == [b["name"] for b in backups], "nothing pruned"
    finally:
        for name in store.list_dirs(store.key() + "/"):
            catalog.delete_backup(store, name)


def test_the_rendered_configuration_is_valid_yaml_for_every_engine(tmp_path, stack):
    objects = render(tmp_path, backup_schedule_engine="milvus-backup",
                     backup_schedule_milvus={"uri": stack["MILVUS_URI"], "user": "root", "password": "x-pw"},
                     backup_schedule_milvus_storage={"endpoint": stack["MILVUS_STORAGE_ENDPOINT"], "bucket": "b"})
    config = [o for o in objects if o["kind"] == "ConfigMap"][0]["data"]["backup.yaml"]
    parsed = yaml.safe_load(config)
    assert parsed["milvus"]["port"] == int(stack["MILVUS_URI"].rsplit(":", 1)[1])
