"""The Kubernetes API emulation (tests/k8s_emulator.py) behaves like an API server for kubernetes.core.

Every scenario runs real ``ansible-playbook`` processes with ``kubernetes.core.k8s``/``k8s_info``
against one emulator process, and checks both what the modules report and what the emulator stored.
Each test works in its own namespace; the objects are created once, by the ``created`` fixture.
A k8s task costs most of a second (a fresh Python importing the kubernetes client), so the
scenarios pack their steps into as few tasks as they can.
"""

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

import k8s_emulator  # tests/ is on sys.path through tests/conftest.py

ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
LABEL = "app.kubernetes.io/part-of"
PART_OF = "k8s-emulator-test"
NAMESPACES = ("reapply", "update", "check", "absent")
SCHEDULE = "*/5 * * * *"
KINDS = (("v1", "ConfigMap"), ("batch/v1", "CronJob"), ("monitoring.coreos.com/v1", "PrometheusRule"))


# --------------------------------------------------------------------------------------------
# Definitions and playbook plumbing
# --------------------------------------------------------------------------------------------

def _metadata(name, namespace):
    return {"name": name, "namespace": namespace, "labels": {LABEL: PART_OF}}


def configmap(namespace, name="emu-config", data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": _metadata(name, namespace), "data": data or {"key": "one"}}


def cronjob(namespace, schedule=SCHEDULE):
    container = {"name": "main", "image": "busybox:1.36", "args": ["echo", "hello"], "env": [{"name": "A", "value": "1"}]}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": _metadata("emu-cron", namespace),
        "spec": {
            "schedule": schedule,
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [container]}}}},
        },
    }


def prometheus_rule(namespace, group="emu"):
    rule = {"alert": "EmuDown", "expr": "up == 0", "for": "5m", "labels": {"severity": "warning"}}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _metadata("emu-rules", namespace),
        "spec": {"groups": [{"name": group, "rules": [rule]}]},
    }


def all_three(namespace, schedule=SCHEDULE):
    return [configmap(namespace), cronjob(namespace, schedule), prometheus_rule(namespace)]


def k8s(name, definitions, **params):
    return {"name": name, "kubernetes.core.k8s": dict(params, definition=definitions)}


def k8s_info(name, api_version, kind, namespace, label_selectors):
    args = {"api_version": api_version, "kind": kind, "namespace": namespace, "label_selectors": label_selectors}
    return {"name": name, "kubernetes.core.k8s_info": args}


def _environment(emulator):
    env = {
        key: value for key, value in os.environ.items()
        # nothing from the caller's shell may point the modules at a real cluster or through a proxy
        if not key.startswith("K8S_AUTH_") and key != "KUBECONFIG"
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    }
    env.update(
        K8S_AUTH_KUBECONFIG=emulator.kubeconfig,
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
        ANSIBLE_LOCALHOST_WARNING="false",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        ANSIBLE_NOCOLOR="true",
        NO_PROXY="127.0.0.1,localhost",
        # kubernetes.core caches API discovery in $TMPDIR/k8srcp-<hash>.json: keep it with the emulator,
        # whose temporary directory goes away when it stops
        TMPDIR=emulator.tmpdir,
    )
    return env


def run_playbook(emulator, tmp_path, tasks, *args):
    """Run one play on localhost; return {task name: result}. Any failed task fails the test."""
    playbook = tmp_path / "playbook.yml"  # JSON is valid YAML: no quoting surprises
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], indent=1))
    proc = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook), *args],
        env=_environment(emulator), cwd=str(tmp_path), capture_output=True, text=True, timeout=300, check=False,
    )
    try:
        output = json.loads(proc.stdout)
    except ValueError:
        pytest.fail("ansible-playbook printed no JSON (rc %s):\n%s\n%s" % (proc.returncode, proc.stdout, proc.stderr))
    results = {task["task"]["name"]: task["hosts"]["localhost"] for task in output["plays"][0]["tasks"]}
    failed = {name: result.get("msg") for name, result in results.items() if result.get("failed")}
    assert proc.returncode == 0 and not failed, "ansible-playbook rc %s, failed tasks: %s\n%s" % (
        proc.returncode, json.dumps(failed, indent=1), proc.stderr)
    assert list(results) == [task["name"] for task in tasks]
    return results


def items(result):
    """Per-definition results of a k8s task (the module flattens a single definition)."""
    return result["result"]["results"] if "results" in result.get("result", {}) else [result]


def stored(emulator, namespace):
    """{kind: {name: object}} of what the emulator holds in the namespace."""
    return {kind: {obj["metadata"]["name"]: obj for obj in emulator.objects(api_version, kind, namespace=namespace)}
            for api_version, kind in KINDS}


def uids(objects):
    return {(kind, name): obj["metadata"]["uid"] for kind, by_name in objects.items() for name, obj in by_name.items()}


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def emulator():
    process = k8s_emulator.EmulatorProcess()
    with process:
        yield process
    assert process.process.returncode == 0, "the emulator did not stop cleanly on SIGTERM"


@pytest.fixture(scope="module")
def created(emulator, tmp_path_factory):
    """Apply the ConfigMap, CronJob and PrometheusRule into every test namespace, in one task."""
    definitions = [definition for namespace in NAMESPACES for definition in all_three(namespace)]
    results = run_playbook(emulator, tmp_path_factory.mktemp("created"), [k8s("create", definitions, apply=True)])
    return {"result": results["create"], "objects": {namespace: stored(emulator, namespace) for namespace in NAMESPACES}}


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------

def test_first_apply_creates_objects_with_server_metadata(created):
    assert created["result"]["changed"] is True
    per_item = items(created["result"])
    assert len(per_item) == 3 * len(NAMESPACES)
    assert all(item["changed"] and item["method"] == "apply" for item in per_item)
    for namespace in NAMESPACES:
        objects = created["objects"][namespace]
        assert {kind: sorted(by_name) for kind, by_name in objects.items()} == {
            "ConfigMap": ["emu-config"], "CronJob": ["emu-cron"], "PrometheusRule": ["emu-rules"]}
        for by_name in objects.values():
            for obj in by_name.values():
                meta = obj["metadata"]
                assert meta["namespace"] == namespace and meta["labels"] == {LABEL: PART_OF}
                assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
                assert "kubectl.kubernetes.io/last-applied-configuration" in meta["annotations"]
        assert objects["CronJob"]["emu-cron"]["metadata"]["generation"] == 1
        assert objects["CronJob"]["emu-cron"]["spec"]["schedule"] == SCHEDULE
        assert objects["PrometheusRule"]["emu-rules"]["spec"] == prometheus_rule(namespace)["spec"]
    all_uids = [uid for namespace in NAMESPACES for uid in uids(created["objects"][namespace]).values()]
    assert len(set(all_uids)) == len(all_uids)


def test_reapply_and_plain_rerun_change_nothing_and_label_selectors_filter(emulator, created, tmp_path):
    namespace = "reapply"
    results = run_playbook(emulator, tmp_path, [
        k8s("apply again", all_three(namespace), apply=True),
        k8s("create/patch mode again", all_three(namespace)),
        k8s_info("list matching", "v1", "ConfigMap", namespace, ["%s=%s" % (LABEL, PART_OF)]),
        k8s_info("list not matching", "v1", "ConfigMap", namespace, ["%s=other" % LABEL]),
    ])
    for name in ("apply again", "create/patch mode again"):
        assert results[name]["changed"] is False, name
        assert [item["changed"] for item in items(results[name])] == [False, False, False], name
    assert [obj["metadata"]["name"] for obj in results["list matching"]["resources"]] == ["emu-config"]
    assert results["list not matching"]["resources"] == []
    before, after = created["objects"][namespace], stored(emulator, namespace)
    assert uids(after) == uids(before)
    assert after == before  # not even a resourceVersion moved


def test_updates_happen_in_place_with_diff(emulator, created, tmp_path):
    """``apply: true`` changes the CronJob schedule and drops a ConfigMap key (a null in its merge patch);
    the create/patch mode changes the schedule again and renames the rule group: the strategic merge is
    refused for the custom resource, so kubernetes.core falls back to a merge patch, which replaces the list.
    """
    namespace = "update"
    results = run_playbook(emulator, tmp_path, [
        k8s("apply", [configmap(namespace, data={"other": "x"}), cronjob(namespace, "0 * * * *"), prometheus_rule(namespace)], apply=True),
        k8s("patch", [cronjob(namespace, "30 2 * * *"), prometheus_rule(namespace, group="emu-renamed")]),
    ], "--diff")
    applied, patched = items(results["apply"]), items(results["patch"])
    assert [item["changed"] for item in applied] == [True, True, False]
    assert [(item["changed"], item["method"]) for item in patched] == [(True, "update"), (True, "update")]
    assert applied[1]["diff"]["before"]["spec"]["schedule"] == SCHEDULE
    assert applied[1]["diff"]["after"]["spec"]["schedule"] == "0 * * * *"
    assert patched[0]["diff"]["before"]["spec"]["schedule"] == "0 * * * *"
    assert patched[0]["diff"]["after"]["spec"]["schedule"] == "30 2 * * *"

    before, after = created["objects"][namespace], stored(emulator, namespace)
    assert uids(after) == uids(before)
    assert after["ConfigMap"]["emu-config"]["data"] == {"other": "x"}
    old_job, new_job = before["CronJob"]["emu-cron"], after["CronJob"]["emu-cron"]
    assert new_job["spec"]["schedule"] == "30 2 * * *"
    assert new_job["spec"]["jobTemplate"] == old_job["spec"]["jobTemplate"]  # the strategic merge kept the rest
    assert new_job["metadata"]["generation"] == 3
    assert int(new_job["metadata"]["resourceVersion"]) > int(old_job["metadata"]["resourceVersion"])
    assert new_job["metadata"]["creationTimestamp"] == old_job["metadata"]["creationTimestamp"]
    rule = after["PrometheusRule"]["emu-rules"]
    assert rule["spec"] == prometheus_rule(namespace, group="emu-renamed")["spec"]
    assert rule["metadata"]["generation"] == 2


def test_check_mode_reports_changes_but_stores_nothing(emulator, created, tmp_path):
    namespace = "check"
    results = run_playbook(emulator, tmp_path, [
        k8s("apply", [cronjob(namespace, "0 * * * *"), configmap(namespace, name="emu-new")], apply=True),
        k8s("patch", [configmap(namespace, data={"key": "two"})]),
        k8s("delete", [prometheus_rule(namespace)], state="absent"),
    ], "--check", "--diff")
    assert [item["changed"] for item in items(results["apply"])] == [True, True]
    cron_diff = items(results["apply"])[0]["diff"]
    assert cron_diff["before"]["spec"]["schedule"] == SCHEDULE
    assert cron_diff["after"]["spec"]["schedule"] == "0 * * * *"
    assert results["patch"]["changed"] is True
    assert results["patch"]["diff"]["after"]["data"] == {"key": "two"}
    assert results["delete"]["changed"] is True
    assert stored(emulator, namespace) == created["objects"][namespace]  # nothing changed, nothing added or removed


def test_absent_removes_everything(emulator, created, tmp_path):
    namespace = "absent"
    selector = ["%s=%s" % (LABEL, PART_OF)]
    results = run_playbook(emulator, tmp_path, [
        k8s("delete", all_three(namespace), state="absent"),
        k8s("delete again", all_three(namespace), state="absent"),
    ] + [k8s_info("list " + kind, api_version, kind, namespace, selector) for api_version, kind in KINDS])
    assert [item["changed"] for item in items(results["delete"])] == [True, True, True]
    assert results["delete again"]["changed"] is False
    for api_version, kind in KINDS:
        assert results["list " + kind]["resources"] == [], kind
        assert emulator.objects(api_version, kind, namespace=namespace) == [], kind
    assert all(stored(emulator, other) for other in ("reapply", "update"))  # other namespaces are untouched


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_standalone_process_starts_and_stops_cleanly(signum):
    with k8s_emulator.EmulatorProcess() as process:
        assert process.url.startswith("http://127.0.0.1:")
        with open(process.kubeconfig, encoding="utf-8") as handle:
            kubeconfig = handle.read()
        assert '"%s"' % process.url in kubeconfig and "current-context: k8s-emulator" in kubeconfig
        assert "token: test" in kubeconfig and "namespace: default" in kubeconfig
        assert process.objects("v1", "ConfigMap") == []
        process.process.send_signal(signum)
        assert process.process.wait(timeout=10) == 0
        with open(os.path.join(process.tmpdir, "emulator.log"), encoding="utf-8") as handle:
            assert handle.read() == ""


def test_startup_failure_reports_the_process_output():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        process = k8s_emulator.EmulatorProcess(port=busy.getsockname()[1])
        with pytest.raises(RuntimeError, match="(?s)exited before it was ready.*Address already in use"):
            process.start()
    assert process.process.returncode != 0 and process.tmpdir is None
