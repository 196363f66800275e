"""The backup_schedule role applied with kubernetes.core against a Kubernetes API emulation on loopback.

No real Kubernetes API server can run on this machine; tests/k8s_emulator.py (kmock) stands in for one.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

import k8s_emulator

KINDS = (("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "ServiceAccount"), ("batch/v1", "CronJob"),
         ("monitoring.coreos.com/v1", "PrometheusRule"))
SELECTOR = "app.kubernetes.io/instance=milvus-backup,app.kubernetes.io/managed-by=vectorops.milvus"
ROLE_VARS = {
    "backup_schedule_namespace": "milvus",
    "backup_schedule_milvus": {"uri": "http://milvus.milvus.svc:19530", "user": "root", "password": "pw-secret"},
    "backup_schedule_milvus_storage": {"endpoint": "http://minio.milvus.svc:9000", "bucket": "milvus-bucket",
                                       "access_key": "ak", "secret_key": "sk-secret"},
    "backup_schedule_backup_storage": {"bucket": "milvus-backups"},
    "backup_schedule_verify": True,
    "backup_schedule_drill": True,
    "backup_schedule_prometheus_rule": True,
}


@pytest.fixture(scope="module")
def emulator():
    with k8s_emulator.EmulatorProcess() as process:
        yield process


def play(emulator, tmp_path, extra_vars, *args):
    """Run the role once; return (recap stats, {task name: result}, stdout)."""
    playbook = tmp_path / "apply.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                         "roles": [{"role": "vectorops.milvus.backup_schedule"}]}]))
    env = dict((k, v) for k, v in os.environ.items()
               if not k.startswith("K8S_AUTH_") and k != "KUBECONFIG" and not k.lower().endswith("_proxy"))
    env.update(K8S_AUTH_KUBECONFIG=emulator.kubeconfig, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
               ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"],
               NO_PROXY="127.0.0.1", TMPDIR=emulator.tmpdir)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook),
                           "-e", json.dumps(extra_vars), *args], env=env, capture_output=True, text=True,
                          timeout=600, check=False)
    output = json.loads(proc.stdout)
    results = dict((t["task"]["name"], t["hosts"].get("localhost", {})) for t in output["plays"][0]["tasks"])
    assert proc.returncode == 0, json.dumps(dict((k, v.get("msg")) for k, v in results.items() if v.get("failed")))
    return output["stats"]["localhost"], results, proc.stdout


def stored(emulator):
    return dict(((kind, obj["metadata"]["name"]), obj) for api_version, kind in KINDS
                for obj in emulator.objects(api_version, kind, namespace="milvus", label_selector=SELECTOR))


def test_apply_twice_update_check_mode_diff_and_absent(emulator, tmp_path):
    stats, _results, _out = play(emulator, tmp_path, ROLE_VARS)
    assert stats["changed"] > 0
    objects = stored(emulator)
    assert sorted(objects) == sorted([("Secret", "milvus-backup"), ("ConfigMap", "milvus-backup"),
                                      ("ServiceAccount", "milvus-backup"), ("CronJob", "milvus-backup"),
                                      ("CronJob", "milvus-backup-verify"), ("CronJob", "milvus-backup-drill"),
                                      ("PrometheusRule", "milvus-backup")])
    assert "last-applied-configuration" not in json.dumps(objects[("Secret", "milvus-backup")].get("metadata", {})), \
        "credentials must not be copied into an annotation"
    uid = objects[("CronJob", "milvus-backup")]["metadata"]["uid"]

    stats, _results, _out = play(emulator, tmp_path, ROLE_VARS)
    assert stats["changed"] == 0, "the second run changes nothing"
    assert stored(emulator) == objects

    changed_schedule = dict(ROLE_VARS, backup_schedule_schedule="30 3 * * *")
    stats, _results, out = play(emulator, tmp_path, changed_schedule, "--check", "--diff")
    assert stats["changed"] >= 1 and '"30 3 * * *"' in out and '"0 2 * * *"' in out, "check mode shows the diff"
    assert stored(emulator)[("CronJob", "milvus-backup")]["spec"]["schedule"] == "0 2 * * *", "check mode changes nothing"

    stats, results, _out = play(emulator, tmp_path, changed_schedule)
    cronjob = stored(emulator)[("CronJob", "milvus-backup")]
    assert cronjob["spec"]["schedule"] == "30 3 * * *" and cronjob["metadata"]["uid"] == uid, "updated in place"
    applied = results["vectorops.milvus.backup_schedule : Apply the ConfigMap, ServiceAccount, CronJobs and PrometheusRule"]
    assert [r["changed"] for r in applied["results"]] == [False, False, True, False, False, False]

    stats, _results, _out = play(emulator, tmp_path, dict(changed_schedule, backup_schedule_drill=False))
    assert ("CronJob", "milvus-backup-drill") not in stored(emulator), "a disabled component is removed"
    assert ("CronJob", "milvus-backup-verify") in stored(emulator)

    stats, _results, _out = play(emulator, tmp_path, dict(changed_schedule, backup_schedule_state="absent"), "--check")
    assert stats["changed"] >= 1 and len(stored(emulator)) == 6, "check mode removes nothing"
    stats, _results, _out = play(emulator, tmp_path, dict(changed_schedule, backup_schedule_state="absent"))
    assert stats["changed"] >= 1 and stored(emulator) == {}, "state=absent leaves nothing behind"
    stats, _results, _out = play(emulator, tmp_path, dict(changed_schedule, backup_schedule_state="absent"))
    assert stats["changed"] == 0


def test_absent_leaves_foreign_objects_alone(emulator, tmp_path):
    """Objects without the role's labels (a user's own Secret, another instance) survive state=absent."""
    play(emulator, tmp_path, dict(ROLE_VARS, backup_schedule_name="other-backup", backup_schedule_verify=False,
                                  backup_schedule_drill=False, backup_schedule_prometheus_rule=False))
    play(emulator, tmp_path, dict(ROLE_VARS, backup_schedule_state="absent"))
    others = emulator.objects("batch/v1", "CronJob", namespace="milvus",
                              label_selector="app.kubernetes.io/instance=other-backup")
    assert [o["metadata"]["name"] for o in others] == ["other-backup"]
    play(emulator, tmp_path, dict(ROLE_VARS, backup_schedule_name="other-backup", backup_schedule_state="absent"))
    assert emulator.objects("batch/v1", "CronJob", namespace="milvus") == []


def test_fleet_playbook_applies_each_deployment_with_its_own_context(emulator, tmp_path):
    """playbooks/backup_schedule.yml: one inventory host per Milvus deployment, each with its own settings."""
    inventory = {"milvus_deployments": {"hosts": {
        "prod-eu": dict(ROLE_VARS, backup_schedule_namespace="prod-eu", k8s_context="k8s-emulator",
                        k8s_kubeconfig=emulator.kubeconfig, backup_schedule_schedule="0 1 * * *"),
        "prod-us": dict(ROLE_VARS, backup_schedule_namespace="prod-us", backup_schedule_verify=False,
                        backup_schedule_drill=False, backup_schedule_prometheus_rule=False),
    }}}
    (tmp_path / "fleet.yml").write_text(yaml.safe_dump(inventory))
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("K8S_AUTH_") and k != "KUBECONFIG")
    env.update(K8S_AUTH_KUBECONFIG=emulator.kubeconfig, ANSIBLE_LOCALHOST_WARNING="false", TMPDIR=emulator.tmpdir,
               ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"],
               ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                           str(tmp_path / "fleet.yml"), "vectorops.milvus.backup_schedule"],
                          env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    eu = emulator.objects("batch/v1", "CronJob", namespace="prod-eu")
    us = emulator.objects("batch/v1", "CronJob", namespace="prod-us")
    assert sorted(c["metadata"]["name"] for c in eu) == ["milvus-backup", "milvus-backup-drill", "milvus-backup-verify"]
    assert [c["metadata"]["name"] for c in us] == ["milvus-backup"]
    assert [c["spec"]["schedule"] for c in eu if c["metadata"]["name"] == "milvus-backup"] == ["0 1 * * *"]
