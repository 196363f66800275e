"""The backup_schedule role's rendered objects: valid Kubernetes 1.27 and 1.31 objects, restricted pods.

Objects come from the role's own `render` entry point (ansible-playbook), for both engines and with every
optional object enabled, so what is checked is exactly what the role applies.
"""

import base64
import json
import os
import subprocess
import sys

import kubernetes_validate
import pytest
import yaml

import podsecurity

HERE = os.path.dirname(os.path.abspath(__file__))
KUBERNETES_VERSIONS = ["1.27", "1.31"]
# PrometheusRule is a prometheus-operator CRD, absent from Kubernetes' own schemas: checked against the
# part of the CRD's schema (monitoring.coreos.com/v1) that the role uses.
RULE_SCHEMA = {
    "type": "object", "required": ["alert", "expr"], "additionalProperties": False,
    "properties": {"alert": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                   "expr": {"type": "string", "minLength": 1},
                   "for": {"type": "string", "pattern": "^[0-9]+(ms|s|m|h|d|w|y)$"},
                   "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                   "annotations": {"type": "object", "additionalProperties": {"type": "string"}}},
}
GROUP_SCHEMA = {
    "type": "object", "required": ["name", "rules"], "additionalProperties": False,
    "properties": {"name": {"type": "string"}, "rules": {"type": "array", "minItems": 1, "items": RULE_SCHEMA}},
}
PROMETHEUS_RULE_SCHEMA = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"], "additionalProperties": False,
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"},
        "kind": {"const": "PrometheusRule"},
        "metadata": {"type": "object", "required": ["name", "namespace"]},
        "spec": {"type": "object", "required": ["groups"], "additionalProperties": False,
                 "properties": {"groups": {"type": "array", "minItems": 1, "items": GROUP_SCHEMA}}},
    },
}

BASE_VARS = {
    "backup_schedule_namespace": "milvus",
    "backup_schedule_milvus": {"uri": "http://milvus.milvus.svc:19530", "user": "root", "password": "pw-in-secret"},
    "backup_schedule_milvus_storage": {"endpoint": "http://minio.milvus.svc:9000", "bucket": "milvus-bucket",
                                       "root_path": "file", "access_key": "access-in-secret",
                                       "secret_key": "secret-in-secret"},
    "backup_schedule_backup_storage": {"bucket": "milvus-backups"},
}


def render(tmp_path, **extra):
    """Run the role's render entry point; return the rendered objects."""
    out = tmp_path / "rendered"
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [{
        "name": "Render", "ansible.builtin.include_role": {"name": "vectorops.milvus.backup_schedule",
                                                           "tasks_from": "render"},
        "vars": dict(BASE_VARS, backup_schedule_render_dir=str(out), **extra)}]}]
    playbook = tmp_path / "render.yml"
    playbook.write_text(yaml.safe_dump(play))
    env = dict(os.environ, ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false",
               ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ["VECTOROPS_COLLECTIONS_DIR"])
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), str(playbook)],
                          env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return [yaml.safe_load(p.read_text()) for p in sorted(out.iterdir())]


VARIANTS = {
    "collection, everything on": dict(backup_schedule_verify=True, backup_schedule_drill=True,
                                      backup_schedule_prometheus_rule=True,
                                      backup_schedule_pushgateway_url="http://pushgateway.monitoring:9091"),
    "collection, minimal": {},
    "milvus-backup, everything on": dict(backup_schedule_engine="milvus-backup", backup_schedule_verify=True,
                                         backup_schedule_drill=True, backup_schedule_prometheus_rule=True),
    "existing secret": dict(backup_schedule_existing_secret="milvus-credentials"),
}


RENDERED = {}


def rendered_variant(variant, tmp_path_factory):
    if variant not in RENDERED:
        RENDERED[variant] = render(tmp_path_factory.mktemp("render"), **VARIANTS[variant])
    return RENDERED[variant]


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def rendered(request, tmp_path_factory):
    return request.param, rendered_variant(request.param, tmp_path_factory)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_object_validates(rendered, version):
    _variant, objects = rendered
    assert objects
    for obj in objects:
        if obj["kind"] == "PrometheusRule":
            import jsonschema  # pylint: disable=import-outside-toplevel
            jsonschema.validate(obj, PROMETHEUS_RULE_SCHEMA)
            continue
        kubernetes_validate.validate(obj, version, strict=True)


def pods(objects):
    return [(o["metadata"]["name"], o["spec"]["jobTemplate"]["spec"]["template"]["spec"])
            for o in objects if o["kind"] == "CronJob"]


def test_pods_pass_podsecurity_restricted(rendered):
    _variant, objects = rendered
    for name, spec in pods(objects):
        assert podsecurity.violations(spec) == [], name
        for container in spec.get("initContainers", []) + spec["containers"]:
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], "writable /tmp on a read-only root"


def test_the_checker_can_fail():
    bad = {"hostNetwork": True, "volumes": [{"name": "h", "hostPath": {"path": "/"}}],
           "containers": [{"name": "c", "securityContext": {"privileged": True, "capabilities": {"add": ["SYS_ADMIN"]}}}]}
    found = podsecurity.violations(bad)
    for expected in ("hostNetwork", "hostPath", "privileged", "allowPrivilegeEscalation", "runAsNonRoot",
                     "seccompProfile", "drop ALL", "SYS_ADMIN"):
        assert any(expected in f for f in found), expected


def test_cronjob_settings(rendered):
    variant, objects = rendered
    cronjobs = [o for o in objects if o["kind"] == "CronJob"]
    for cronjob in cronjobs:
        spec = cronjob["spec"]
        assert spec["concurrencyPolicy"] == "Forbid" and spec["timeZone"] == "Etc/UTC"
        assert spec["startingDeadlineSeconds"] == 600 and spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] == 14400
        assert spec["successfulJobsHistoryLimit"] >= 1 and spec["failedJobsHistoryLimit"] >= 1
        assert spec["jobTemplate"]["spec"]["backoffLimit"] == 1
        labels = cronjob["metadata"]["labels"]
        assert labels["app.kubernetes.io/instance"] == "milvus-backup"
        assert labels["app.kubernetes.io/managed-by"] == "vectorops.milvus"
        pod = spec["jobTemplate"]["spec"]["template"]["spec"]
        assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
        assert pod["containers"][0]["resources"]["limits"]["memory"] == "1Gi"
    names = sorted(c["metadata"]["name"] for c in cronjobs)
    expected = {"collection, everything on": ["milvus-backup", "milvus-backup-drill", "milvus-backup-verify"],
                "collection, minimal": ["milvus-backup"],
                "milvus-backup, everything on": ["milvus-backup", "milvus-backup-drill", "milvus-backup-verify"],
                "existing secret": ["milvus-backup"]}[variant]
    assert names == expected


def test_secrets_stay_out_of_the_configmap(rendered):
    variant, objects = rendered
    by_kind = dict((o["kind"], o) for o in objects)
    config = json.dumps(by_kind["ConfigMap"])
    for secret in ("pw-in-secret", "access-in-secret", "secret-in-secret"):
        assert secret not in config
    if variant == "existing secret":
        assert "Secret" not in by_kind
        for _name, spec in pods(objects):
            assert {"secretRef": {"name": "milvus-credentials"}} in spec["containers"][0]["envFrom"]
    else:
        data = dict((k, base64.b64decode(v).decode()) for k, v in by_kind["Secret"]["data"].items())
        assert data["MILVUS_PASSWORD"] == "pw-in-secret" and data["MILVUS_STORAGE_SECRET_KEY"] == "secret-in-secret"
    sa = by_kind["ServiceAccount"]
    assert sa["automountServiceAccountToken"] is False


def test_milvus_backup_engine_config(tmp_path_factory):
    objects = rendered_variant("milvus-backup, everything on", tmp_path_factory)
    config = dict((o["kind"], o) for o in objects)["ConfigMap"]
    backup_yaml = yaml.safe_load(config["data"]["backup.yaml"])
    assert backup_yaml["milvus"] == {"address": "milvus.milvus.svc", "port": 19530, "tlsMode": 0}
    assert backup_yaml["minio"]["bucketName"] == "milvus-bucket" and backup_yaml["minio"]["rootPath"] == "file"
    assert backup_yaml["minio"]["backupBucketName"] == "milvus-backups" and backup_yaml["minio"]["address"] == "minio.milvus.svc"
    assert "accessKeyID" not in backup_yaml["minio"], "credentials come from the Secret's environment"
    backup_pod = [spec for name, spec in pods(objects) if name == "milvus-backup"][0]
    init = backup_pod["initContainers"][0]
    assert init["image"].startswith("milvusdb/milvus-backup:") and "create --config /config/backup.yaml" in init["args"][0]
    assert backup_pod["containers"][0]["env"] == [{"name": "SCHEDULED_BACKUP_MODE", "value": "prune"}]
    secret = dict((o["kind"], o) for o in objects)["Secret"]
    assert {"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", "MILVUS_USER", "MILVUS_PASSWORD"} <= set(secret["data"])


def test_prometheus_rule_alerts(tmp_path_factory):
    objects = rendered_variant("collection, everything on", tmp_path_factory)
    rule = dict((o["kind"], o) for o in objects)["PrometheusRule"]
    alerts = dict((r["alert"], r) for r in rule["spec"]["groups"][0]["rules"])
    assert set(alerts) == {"MilvusBackupTooOld", "MilvusBackupPushedTooOld", "MilvusBackupJobFailed",
                           "MilvusBackupVerificationStale", "MilvusDrDrillOverdue", "MilvusDrDrillFailed"}
    assert alerts["MilvusBackupTooOld"]["expr"] == \
        'time() - kube_cronjob_status_last_successful_time{namespace="milvus", cronjob="milvus-backup"} > 129600'
    assert "milvus_backup_last_success_timestamp_seconds" in alerts["MilvusBackupPushedTooOld"]["expr"]
    assert "{{ $labels.cronjob }}" in alerts["MilvusBackupTooOld"]["annotations"]["description"]
    for alert in alerts.values():
        assert "rate(" not in alert["expr"] and "_total" not in alert["expr"], "no lifetime ratios"
