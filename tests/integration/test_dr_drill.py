"""The dr_drill role through `ansible-playbook vectorops.milvus.dr_drill`, on the real stack."""

import json
import re
import xml.dom.minidom

import pytest

from conftest import free_loopback_port, store_for
from test_milvus_restore import corrupt_backup_copy

from ansible_collections.vectorops.milvus.plugins.module_utils import catalog


@pytest.fixture
def drill_root(stack, unique):
    """An isolated backup root, so "latest" means this test's backup."""
    root = "drills_%s" % unique
    store = store_for(stack, "BACKUP_STORAGE", stack["BACKUP_STORAGE_BUCKET"], root)
    yield root, store
    for name in store.list_dirs(store.key() + "/"):
        catalog.delete_backup(store, name)


def drill(playbook, root, report_dir, **extra):
    params = dict({"dr_drill_collections": ["quick_setup", "catalog"], "dr_drill_report_dir": str(report_dir)}, **extra)
    return playbook("vectorops.milvus.dr_drill", params, env={"BACKUP_STORAGE_ROOT_PATH": root})


def scratch_left(milvus_client):
    return [name for name in milvus_client.list_collections() if "_drill_" in name]


def metrics(path):
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            values[key] = float(value)
    return values


def test_a_drill_passes_and_reports_rpo_rto_counts_fingerprints_recall(playbook, shapes, drill_root, tmp_path,
                                                                       milvus_client):
    root, _store = drill_root
    run = drill(playbook, root, tmp_path, dr_drill_backup="new", dr_drill_name="ci", dr_drill_rto_target_seconds=600,
                dr_drill_rpo_target_seconds=600)
    assert run.rc == 0, run.failed_tasks
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["passed"] is True and report["error"] == ""
    assert 0 <= report["rpo_seconds"] < 600 and 0 < report["rto_seconds"] < 600
    assert {"staging", "create", "import", "index", "load"} <= set(report["phases"])
    rows = dict((c["source"], (c["rows_expected"], c["rows_restored"])) for c in report["collections"])
    assert rows == {"default.quick_setup": (10, 10), "default.catalog": (shapes["default.catalog"]["live"],) * 2}
    names = [c["name"] for c in report["checks"] if c["passed"]]
    assert names.count("pk_fingerprint") == 2 and names.count("golden_query_recall") == 2
    assert report["verification"]["failed"] == 0
    assert sorted(report["cleanup"]["removed"]) == sorted(c["target"] for c in report["collections"])
    assert scratch_left(milvus_client) == [], "scratch collections are removed"
    summary = (tmp_path / "latest.md").read_text()
    assert summary.startswith('# Milvus DR drill "ci": PASSED')
    assert re.search(r"\| RPO \| [0-9.]+ s \(target 600.0 s, met\) \|", summary)
    assert re.search(r"\| RTO \| [0-9.]+ s \(target 600.0 s, met\) \|", summary)
    assert "| default.catalog | default.catalog_drill_" in summary and "match " in summary
    suite = xml.dom.minidom.parse(str(tmp_path / "latest.xml")).getElementsByTagName("testsuite")[0]
    assert suite.getAttribute("failures") == "0" and int(suite.getAttribute("tests")) > 10
    values = metrics(tmp_path / "milvus_dr.prom")
    assert values['milvus_dr_drill_success{drill="ci"}'] == 1
    assert values['milvus_dr_verification_passed{drill="ci"}'] == 1
    assert values['milvus_dr_last_success_timestamp_seconds{drill="ci"}'] == values['milvus_dr_last_drill_timestamp_seconds{drill="ci"}']
    assert values['milvus_dr_rto_seconds{drill="ci"}'] == pytest.approx(report["rto_seconds"])
    assert values['milvus_dr_phase_duration_seconds{drill="ci",phase="import"}'] > 0
    assert values['milvus_dr_restored_rows{drill="ci",collection="default.quick_setup"}'] == 10

    # A failing phase after a successful restore: the scratch copies are still removed, the reports say why,
    # and the metrics keep the time of the last successful drill.
    previous_success = values['milvus_dr_last_success_timestamp_seconds{drill="ci"}']
    run = drill(playbook, root, tmp_path, dr_drill_backup="latest", dr_drill_name="ci", dr_drill_recall_threshold=2.0)
    assert run.rc != 0
    assert "failed in the verify phase: recall_threshold must be between 0 and 1" in run.result(
        "vectorops.milvus.dr_drill : The drill's phases succeeded")["msg"]
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["passed"] is False and report["failed_phase"] == "verify"
    assert len(report["cleanup"]["removed"]) == 2 and scratch_left(milvus_client) == []
    values = metrics(tmp_path / "milvus_dr.prom")
    assert values['milvus_dr_drill_success{drill="ci"}'] == 0
    assert values['milvus_dr_last_success_timestamp_seconds{drill="ci"}'] == previous_success
    assert (tmp_path / "latest.md").read_text().startswith('# Milvus DR drill "ci": FAILED')


def test_a_failing_restore_leaves_nothing_behind(playbook, call, shapes, drill_root, tmp_path, milvus_client):
    root, store = drill_root
    rc, made = call("milvus_backup", {"name": "good", "collections": ["catalog"], "backup_storage": {"root_path": root}})
    assert rc == 0, made.get("msg")
    corrupt_backup_copy(store, "good", "bad")
    run = drill(playbook, root, tmp_path, dr_drill_backup="bad", dr_drill_collections=["catalog"])
    assert run.rc != 0
    message = run.result("vectorops.milvus.dr_drill : The drill's phases succeeded")["msg"]
    assert "failed in the restore phase" in message and "does not match its manifest SHA-256" in message
    assert scratch_left(milvus_client) == []
    suite = xml.dom.minidom.parse(str(tmp_path / "latest.xml")).getElementsByTagName("testsuite")[0]
    assert int(suite.getAttribute("failures")) >= 1


def test_a_too_tight_rto_target_fails_with_measured_and_target(playbook, shapes, drill_root, tmp_path, milvus_client):
    root, _store = drill_root
    run = drill(playbook, root, tmp_path, dr_drill_backup="new", dr_drill_collections=["quick_setup"],
                dr_drill_rto_target_seconds=0.001)
    assert run.rc != 0
    message = run.result("vectorops.milvus.dr_drill : The RTO target was met")["msg"]
    assert re.search(r"RTO [0-9.]+ s measured, target 0.001 s", message)
    report = json.loads((tmp_path / "latest.json").read_text())
    assert report["rto_exceeded"] is True and report["verification_passed"] is True
    assert scratch_left(milvus_client) == []


def module_defaults_connection(stack, root):
    """The stack's connection as a play's module_defaults for group/vectorops.milvus.milvus would set it."""
    def storage(prefix, **extra):
        return dict({key: stack["%s_%s" % (prefix, key.upper())] for key in
                     ("endpoint", "bucket", "root_path", "region", "access_key", "secret_key")}, **extra)
    return {"uri": stack["MILVUS_URI"], "user": stack["MILVUS_USER"], "password": stack["MILVUS_PASSWORD"],
            "milvus_storage": storage("MILVUS_STORAGE"), "backup_storage": storage("BACKUP_STORAGE", root_path=root)}


def test_a_drill_configured_only_by_module_defaults(playbook, stack, shapes, drill_root, tmp_path, milvus_client):
    """No connection environment at all: the role must not discard the play's module_defaults.

    The role used to pass every connection option as ``{{ target.x | default(omit) }}``; under
    ansible-core 2.19 an omitted option also drops its module_defaults value, so the restore failed
    with "milvus_storage is required".
    """
    root, _store = drill_root
    params = {"milvus": module_defaults_connection(stack, root), "dr_drill_backup": "new", "dr_drill_name": "md",
              "dr_drill_collections": ["quick_setup", "catalog"], "dr_drill_report_dir": str(tmp_path / "plain")}
    run = playbook("drill_module_defaults.yml", params, connection_env=False)
    assert run.rc == 0, run.failed_tasks
    report = json.loads((tmp_path / "plain" / "latest.json").read_text())
    assert report["passed"] is True and report["new_backup"] is True
    rows = dict((c["source"], c["rows_restored"]) for c in report["collections"])
    assert rows == {"default.quick_setup": 10, "default.catalog": shapes["default.catalog"]["live"]}
    assert (tmp_path / "plain" / "latest.md").read_text().startswith('# Milvus DR drill "md": PASSED')
    assert scratch_left(milvus_client) == []

    # dr_drill_target_connection overrides the keys it gives: an unreachable target uri fails the restore...
    port = free_loopback_port()
    target = {"uri": "http://127.0.0.1:%d" % port, "timeout": 3}
    run = playbook("drill_module_defaults.yml", dict(params, dr_drill_backup="latest", dr_drill_target_connection=target,
                                                     dr_drill_report_dir=str(tmp_path / "unreachable")),
                   connection_env=False)
    assert run.rc != 0
    message = run.result("vectorops.milvus.dr_drill : The drill's phases succeeded")["msg"]
    assert "failed in the restore phase: cannot reach Milvus at http://127.0.0.1:%d after " % port in message
    assert "(it refused or dropped the connection; timeout 3s)" in message
    assert json.loads((tmp_path / "unreachable" / "latest.json").read_text())["failed_phase"] == "restore"

    # ...and keys it does not give (here milvus_storage and backup_storage) keep the play's values.
    target = {"uri": stack["MILVUS_URI"], "user": stack["MILVUS_USER"], "password": stack["MILVUS_PASSWORD"]}
    run = playbook("drill_module_defaults.yml", dict(params, dr_drill_backup="latest", dr_drill_target_connection=target,
                                                     dr_drill_report_dir=str(tmp_path / "target")),
                   connection_env=False)
    assert run.rc == 0, run.failed_tasks
    report = json.loads((tmp_path / "target" / "latest.json").read_text())
    assert report["passed"] is True and report["backup"]["name"] == json.loads(
        (tmp_path / "plain" / "latest.json").read_text())["backup"]["name"]
    assert scratch_left(milvus_client) == []


def test_check_mode_plans_the_drill_and_changes_nothing(playbook, call, shapes, drill_root, tmp_path, milvus_client):
    """``--check`` (style-review §6: it used to fail in "The restored data verified"): the restore is only
    planned, nothing is verified, no scratch collection, report or metric is written; with
    ``dr_drill_backup: new`` the backup is planned and not taken."""
    root, store = drill_root
    rc, made = call("milvus_backup", {"name": "checked", "collections": ["quick_setup"],
                                      "backup_storage": {"root_path": root}})
    assert rc == 0, made.get("msg")
    reports = tmp_path / "reports"
    run = playbook("vectorops.milvus.dr_drill", {"dr_drill_collections": ["quick_setup"], "dr_drill_backup": "checked",
                                                 "dr_drill_report_dir": str(reports), "dr_drill_rto_target_seconds": 1},
                   env={"BACKUP_STORAGE_ROOT_PATH": root}, check=True)
    assert run.rc == 0, run.failed_tasks
    planned = run.result("vectorops.milvus.dr_drill : Restore the backup into scratch collections")
    assert planned["status"] == "planned" and planned["backup"]["name"] == "checked"
    assert [c["action"] for c in planned["collections"]] == ["create"] and planned["totals"]["rows"] == 10
    assert run.result("vectorops.milvus.dr_drill : Verify the scratch collections against the backup")["skipped"]
    message = run.result("vectorops.milvus.dr_drill : Say what the drill would do (check mode)")["msg"]
    assert "would restore 1 collection(s) (10 rows) of backup checked" in message, message
    assert message.endswith("nothing was restored, verified or written")
    assert scratch_left(milvus_client) == [] and not reports.exists()

    run = playbook("vectorops.milvus.dr_drill", {"dr_drill_collections": ["quick_setup"], "dr_drill_backup": "new",
                                                 "dr_drill_report_dir": str(reports)},
                   env={"BACKUP_STORAGE_ROOT_PATH": root}, check=True)
    assert run.rc == 0, run.failed_tasks
    taken = run.result("vectorops.milvus.dr_drill : Take a new backup for the drill")
    assert taken["status"] == "planned" and taken["backup"]["status"] == "absent"
    message = run.result("vectorops.milvus.dr_drill : Say what the drill would do (check mode)")["msg"]
    assert "would take a new backup of 1 collection(s) (10 rows) and restore it" in message, message
    assert [b["name"] for b in catalog.list_backups(store)] == ["checked"], "no backup taken"
    assert scratch_left(milvus_client) == [] and not reports.exists()
